import Foundation

/// SIGTERM or SIGINT to a supervisor, seen by its watch loop: the job is stopped, not
/// restarted. The signals are taken from their default action while it is installed.
final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?
    private var sources: [any DispatchSourceSignal] = []

    /// The signal that asked to stop; nil while none has.
    var signal: Int32? {
        lock.lock(); defer { lock.unlock() }
        return received
    }

    init(signals: [Int32] = [SIGTERM, SIGINT]) {
        for number in signals {
            Foundation.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.set(number) }
            source.resume()
            sources.append(source)
        }
    }

    private func set(_ number: Int32) {
        lock.lock()
        if received == nil { received = number }
        lock.unlock()
    }
}
