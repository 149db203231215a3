import Foundation

/// A supervisor's heartbeat check: rank 0 reports each optimizer step; a launch whose step
/// has not moved for `limit` seconds (from its start, or its last new step) is hung — a rank
/// stuck, or a host gone silently so that mpirun waits on it forever.
struct StallWatch {
    let limit: TimeInterval
    private var step: Int?
    private var since = Date()

    init(limit: TimeInterval) { self.limit = limit }

    /// Why the launch counts as hung at `current`, or nil while it moves.
    mutating func stalled(at current: Int?, now: Date = Date()) -> SupervisedAttempt.Hang? {
        if current != step {
            step = current
            since = now
            return nil
        }
        let waited = now.timeIntervalSince(since)
        guard waited >= limit else { return nil }
        let what = step.map { "no step after step \($0)" } ?? "no first step"
        return SupervisedAttempt.Hang(reason: "\(what) for \(Int(waited)) s (elastic.stall_seconds \(Int(limit))): a rank or host hung or was lost silently",
                                      since: since)
    }
}
