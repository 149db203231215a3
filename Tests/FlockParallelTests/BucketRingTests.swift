import Testing
@testable import FlockParallel

/// The ring ZeRO stage 2 packs its buckets into: regions follow one another, start again
/// at the front when one would pass the end, and a region still being read is finished
/// before a new one overwrites it.
@Suite struct BucketRingTests {
    @Test func regionsFollowOneAnotherAndWrapAtTheEnd() {
        var ring = BucketRing(capacity: 10)
        #expect(ring.place(4) == 0..<4)
        #expect(ring.place(4) == 4..<8)
        #expect(ring.place(5) == 0..<5)
        #expect(ring.place(5) == 5..<10)
        #expect(ring.place(10) == 0..<10)
    }

    @Test func aRegionStillInFlightThatTheNewOneOverlapsFinishesFirst() {
        // [4, 8) in flight alone: a wrapped [0, 5) overlaps it although 4 + 5 ≤ 10.
        #expect(BucketRing.oldestToFinish(before: 0..<5, inFlight: [4..<8]) == 1)
        // Oldest first: everything up to the last overlapped region finishes.
        #expect(BucketRing.oldestToFinish(before: 2..<6, inFlight: [0..<3, 3..<4, 8..<10]) == 2)
        #expect(BucketRing.oldestToFinish(before: 0..<4, inFlight: [4..<8, 8..<10]) == 0)
        #expect(BucketRing.oldestToFinish(before: 0..<4, inFlight: []) == 0)
    }
}
