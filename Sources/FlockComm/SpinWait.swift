import Foundation

/// Polling with a deadline, for waits on peers that may share our cores: spin briefly,
/// then yield the core between polls, and look at the clock at every yield (a count of
/// polls is no measure of time when every yield can take milliseconds under load).
struct SpinWait {
    private var polls = 0
    private let limit: UInt64

    init(seconds: Double) {
        limit = DispatchTime.now().uptimeNanoseconds &+ UInt64(max(0, seconds) * 1e9)
    }

    /// Call after each poll that found nothing; false once the deadline has passed.
    mutating func keepWaiting() -> Bool {
        polls += 1
        if polls < 100 { return true }
        sched_yield()
        return DispatchTime.now().uptimeNanoseconds < limit
    }
}
