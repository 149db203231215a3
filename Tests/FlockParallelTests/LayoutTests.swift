import FlockTensor
import Testing
@testable import FlockParallel

@Suite struct GradientBucketTests {
    func slots() -> [ParameterSlot] {
        let store = ParameterStore()
        // 4-byte floats: 400 B, 40 B, 800 B, 80 B.
        store.register(name: "layers.0.weight", shape: [10, 10], isDecayed: true)
        store.register(name: "layers.0.bias", shape: [10], isDecayed: false)
        store.register(name: "layers.1.weight", shape: [20, 10], isDecayed: true)
        store.register(name: "layers.1.bias", shape: [20], isDecayed: false)
        return store.slots
    }

    @Test func bucketsAreContiguousRangesInBackwardOrder() {
        let layout = GradientBuckets(slots: slots(), bucketBytes: 500)
        // From the end: layers.1.bias (80) + layers.1.weight (800) ≥ 500; then the rest.
        #expect(layout.buckets.map(\.range) == [110..<330, 0..<110])
        #expect(layout.buckets.map(\.slots) == [[3, 2], [1, 0]])
        #expect(layout.bucketOfSlot == [1, 1, 0, 0])
    }

    @Test func oneBigBucketCoversEverything() {
        let layout = GradientBuckets(slots: slots(), bucketBytes: 1 << 30)
        #expect(layout.buckets.map(\.range) == [0..<330])
    }

    @Test func tinyBucketsHoldOneParameterEach() {
        let layout = GradientBuckets(slots: slots(), bucketBytes: 1)
        #expect(layout.buckets.map(\.range) == [310..<330, 110..<310, 100..<110, 0..<100])
    }
}

@Suite struct DistributedSamplerTests {
    @Test(arguments: [1, 2, 3, 4, 7])
    func ranksCoverEveryGlobalBatchExactlyOnce(worldSize: Int) {
        let order = Array((0..<100).reversed())
        let samplers = (0..<worldSize).map { DistributedSampler(sampleCount: 100, globalBatchSize: 42, rank: $0, worldSize: worldSize) }
        #expect(samplers[0].batchesPerEpoch == 3)
        for batch in 0..<3 {
            let pieces = samplers.map { $0.indices(ofBatch: batch, order: order) }
            // In rank order the slices rebuild the one-rank batch.
            let start = batch * 42
            #expect(pieces.flatMap { $0 } == Array(order[start..<min(start + 42, 100)]))
            let sizes = pieces.map(\.count)
            #expect(sizes.max()! - sizes.min()! <= 1)
        }
    }
}
