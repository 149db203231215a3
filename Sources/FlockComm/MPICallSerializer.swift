import Foundation

/// Runs a communicator's MPI work one piece at a time, in the order it was asked for.
///
/// Blocking calls run inline on the caller's thread (no hand-off latency) once every
/// earlier nonblocking piece has finished; nonblocking pieces run on one communication
/// thread. Horovod's background loop has the same job; here the fast path stays inline.
///
/// Threads are woken only when one waits for what changed: an inline call (a pipeline
/// polls MPI between passes, thousands of times a step) must not wake the idle
/// communication thread each time, which costs a futex call and a context switch.
final class MPICallSerializer: @unchecked Sendable {
    private let condition = NSCondition()
    private var queue: [() -> Void] = []
    private var busy = false
    private var workerStarted = false
    /// Inline callers waiting for `busy` to clear and the queue to drain.
    private var inlineWaiters = 0
    /// Whether the communication thread waits for work.
    private var workerWaiting = false

    /// Runs `work` now on this thread, after all queued work.
    func runInline<R>(_ work: () throws -> R) rethrows -> R {
        condition.lock()
        while busy || !queue.isEmpty {
            inlineWaiters += 1
            condition.wait()
            inlineWaiters -= 1
        }
        busy = true
        condition.unlock()
        defer {
            condition.lock()
            busy = false
            wakeWaiters()
            condition.unlock()
        }
        return try work()
    }

    /// With the lock held, after `busy` cleared: wakes whoever can now go on.
    private func wakeWaiters() {
        if inlineWaiters > 0 || (workerWaiting && !queue.isEmpty) { condition.broadcast() }
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
        if workerWaiting && !busy { condition.broadcast() }
        condition.unlock()
    }

    private func workLoop() {
        while true {
            condition.lock()
            while busy || queue.isEmpty {
                workerWaiting = true
                condition.wait()
                workerWaiting = false
            }
            let work = queue.removeFirst()
            busy = true
            condition.unlock()
            work()
            condition.lock()
            busy = false
            if inlineWaiters > 0 { condition.broadcast() }
            condition.unlock()
        }
    }
}
