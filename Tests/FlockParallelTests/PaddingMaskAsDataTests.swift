import FlockNN
import FlockTensor
import Testing
@testable import FlockParallel

/// A padding mask is data of the batch: a micro-batch that brings one is trained with it,
/// whatever layer would have marked padding.
@Suite struct PaddingMaskAsDataTests {
    /// Outputs of one training micro-batch of (4, 3) sequences through mean pooling and a
    /// dense head, the last two positions of each sample filled with `fill`.
    static func outputs(fill: Float, mask: Tensor?) throws -> [Float] {
        let model = try Model([.sequencePool(.mean), .dense(units: 2)], inputShape: [4, 3], seed: 11)
        let parts = StepParts.singleRank()
        try parts.prepare(model: model, configHash: 1)
        let features = Tensor(shape: [2, 4, 3], scalars: (0..<24).map { index in index % 12 >= 6 ? fill : Float(index) / 10 })
        var generator = RandomGenerator(seed: 3)
        let batch = MicroBatch(features: features, targets: Tensor(shape: [2], scalars: [0, 1]), gradientScale: 1, paddingMask: mask)
        return try parts.computeGradients([batch], loss: .crossEntropy(), step: 0, generator: &generator)[0].outputs.scalars
    }

    @Test func theBatchsMaskHidesItsPaddedPositions() throws {
        let mask = Tensor(shape: [2, 4], scalars: [0, 0, 1, 1, 0, 0, 1, 1])
        #expect(try Self.outputs(fill: 0, mask: mask) == Self.outputs(fill: 50, mask: mask))
        // Without it (no layer of this model marks padding) the filled positions count.
        #expect(try Self.outputs(fill: 0, mask: nil) != Self.outputs(fill: 50, mask: nil))
    }

    @Test func splittingABatchSplitsItsMask() {
        let batch = MicroBatch(features: Tensor(zeros: [3, 2]), targets: Tensor(zeros: [3]), gradientScale: 1,
                               paddingMask: Tensor(shape: [3, 2], scalars: [0, 1, 1, 0, 0, 0]))
        let pieces = batch.split(into: 2)
        #expect(pieces.map { $0.paddingMask?.scalars ?? [] } == [[0, 1, 1, 0], [0, 0]])
    }
}
