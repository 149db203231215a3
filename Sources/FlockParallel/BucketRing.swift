/// Where ZeRO stage 2 packs its gradient buckets: regions of a ring of `capacity`
/// elements, each bucket taking the next one (from the start again when it would pass the
/// end), and reused once the reduce-scatter reading it is done. Every rank places the same
/// buckets in the same order, so their regions agree.
struct BucketRing {
    let capacity: Int
    private var head = 0

    init(capacity: Int) { self.capacity = capacity }

    /// The region for `count` elements (at most `capacity`).
    mutating func place(_ count: Int) -> Range<Int> {
        precondition(count <= capacity, "a bucket of \(count) elements in a ring of \(capacity)")
        if head + count > capacity { head = 0 }
        defer { head += count }
        return head..<(head + count)
    }

    /// How many of the oldest regions in flight (oldest first) must finish before `region`
    /// is written: up to the last one it overlaps.
    static func oldestToFinish(before region: Range<Int>, inFlight: [Range<Int>]) -> Int {
        (inFlight.lastIndex { $0.overlaps(region) }).map { $0 + 1 } ?? 0
    }
}
