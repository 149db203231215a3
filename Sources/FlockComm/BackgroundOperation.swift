import Foundation

/// A nonblocking operation running on another thread (a local rank's helper thread or
/// the MPI communication thread); `finish` is called once, from that thread.
final class BackgroundOperation: PendingOperation, @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var error: (any Error)?

    func finish(_ error: (any Error)?) {
        self.error = error
        done.signal()
    }

    func wait() throws {
        done.wait()
        done.signal()  // later waits return at once
        if let error { throw error }
    }
}

/// An operation that was complete when it was returned.
final class CompletedOperation: PendingOperation {
    func wait() throws {}
    func test() throws -> Bool { true }
}
