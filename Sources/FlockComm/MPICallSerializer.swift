import Foundation

/// Runs a communicator's MPI work one piece at a time, in the order it was asked for.
///
/// Blocking calls run inline on the caller's thread (no hand-off latency) once every
/// earlier nonblocking piece has finished; nonblocking pieces run on one communication
/// thread. Horovod's background loop has the same job; here the fast path stays inline.
final class MPICallSerializer: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [() -> Void] = []
    private var busy = false
    private var workerStarted = false

    /// Runs `work` now on this thread, after all queued work.
    func runInline<R>(_ work: () throws -> R) rethrows -> R {
        condition.lock()
        while busy || !queue.isEmpty { condition.wait() }
        busy = true
        condition.unlock()
        defer {
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
        return try work()
    }

    /// Queues `work` for the communication thread.
    func submit(_ work: @escaping @Sendable () -> Void) {
        condition.lock()
        queue.append(work)
        if !workerStarted {
            workerStarted = true
            let thread = Thread { [self] in workLoop() }
            thread.stackSize = 4 << 20
            thread.start()
        }
        condition.broadcast()
        condition.unlock()
    }

    private func workLoop() {
        while true {
            condition.lock()
            while busy || queue.isEmpty { condition.wait() }
            let work = queue.removeFirst()
            busy = true
            condition.unlock()
            work()
            condition.lock()
            busy = false
            condition.broadcast()
            condition.unlock()
        }
    }
}
