import Foundation

/// One thread that runs submitted work in submission order, started on first use and
/// ended by `close()`. A local rank's nonblocking collectives run on it, so a training
/// step's gradient buckets reuse one thread instead of starting one each.
final class SerialWorker: @unchecked Sendable {
    private let condition = NSCondition()
    /// Work not yet started; `next` indexes the first (a queue without O(n) removals).
    private var queue: [@Sendable () -> Void] = []
    private var next = 0
    private var started = false
    private var closed = false

    /// Queues `work` behind everything submitted before it.
    func submit(_ work: @escaping @Sendable () -> Void) {
        condition.lock()
        defer { condition.unlock() }
        precondition(!closed, "work submitted to a closed SerialWorker")
        queue.append(work)
        if !started {
            started = true
            // The thread holds the worker (not its owner), so the owner can go away and close it.
            Thread { [self] in runLoop() }.start()
        }
        condition.signal()
    }

    /// Lets the thread finish what is queued, then end.
    func close() {
        condition.lock()
        closed = true
        condition.signal()
        condition.unlock()
    }

    private func runLoop() {
        while let work = take() { work() }
    }

    /// The next work item, waiting for one; nil once closed and drained.
    private func take() -> (@Sendable () -> Void)? {
        condition.lock()
        defer { condition.unlock() }
        while next == queue.count && !closed { condition.wait() }
        guard next < queue.count else { return nil }
        let work = queue[next]
        next += 1
        if next == queue.count {
            queue.removeAll(keepingCapacity: true)
            next = 0
        }
        return work
    }
}
