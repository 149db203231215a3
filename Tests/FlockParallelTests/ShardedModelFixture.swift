import FlockComm
import FlockNN
import FlockTensor
import Testing
@testable import FlockParallel

/// A small classifier with widths that no group size of 2, 3 or 4 divides, its data, and
/// the whole-model reference every sharded run is compared with.
struct ShardedModelFixture {
    static let inputWidth = 6
    static let classes = 3
    static let layers: [LayerConfig] = [
        .dense(units: 7, activation: .relu), .dense(units: 5, activation: .tanh),
        .dense(units: 9, activation: .relu), .dense(units: classes),
    ]

    /// Sequences (4 steps × 6 features) through attention with 3 heads, a Transformer
    /// block with 3 heads and 5 hidden units (no group size of 2 divides either), pooling
    /// and a classifier.
    static let sequenceLayers: [LayerConfig] = [
        .multiHeadAttention(heads: 3), .transformerEncoder(heads: 3, mlpUnits: 5), .sequencePool(), .dense(units: classes),
    ]
    static let sequenceShape = [4, inputWidth]

    /// Token ids (6 per sample, 0 is padding) through an embedding, attention that must
    /// hide the padding, mean pooling that must skip it, and a classifier.
    static let paddedTokenLayers: [LayerConfig] = [
        .embedding(vocabulary: 5, units: inputWidth, paddingID: 0), .multiHeadAttention(heads: 2), .sequencePool(),
        .dense(units: classes),
    ]

    /// A model of `layers` (the MLP above by default) on per-sample inputs `inputShape`;
    /// with `vocabulary`, the inputs are token ids in 0..<vocabulary.
    struct Architecture: Sendable {
        var layers: [LayerConfig] = ShardedModelFixture.layers
        var inputShape: [Int] = [ShardedModelFixture.inputWidth]
        var vocabulary: Int?
        static let sequences = Architecture(layers: sequenceLayers, inputShape: sequenceShape)
        static let paddedTokens = Architecture(layers: paddedTokenLayers, inputShape: [6], vocabulary: 5)
        /// One narrow layer, then three wide ones: split at 1, the last stage is many times
        /// the first's work, so the first waits for every gradient.
        static let heavyLastStage = Architecture(layers: [
            .dense(units: 7, activation: .relu), .dense(units: 384, activation: .relu),
            .dense(units: 384, activation: .relu), .dense(units: classes),
        ])
    }

    static func model(seed: UInt64 = 11, _ architecture: Architecture = Architecture()) throws -> Model {
        try Model(architecture.layers, inputShape: architecture.inputShape, seed: seed)
    }

    /// `rows` samples of features in [−1, 1) and class labels.
    static func batch(rows: Int, seed: UInt64 = 5, inputShape: [Int] = [inputWidth],
                      vocabulary: Int? = nil) -> (features: Tensor, targets: Tensor) {
        var generator = RandomGenerator(seed: seed)
        let features = (0..<(rows * inputShape.reduce(1, *))).map { _ in
            vocabulary.map { Float(Int(generator.next() % UInt64($0))) } ?? generator.nextUniform(-1, 1)
        }
        let targets = (0..<rows).map { _ in Float(Int(generator.next() % UInt64(classes))) }
        return (Tensor(shape: [rows] + inputShape, scalars: features), Tensor(shape: [rows], scalars: targets))
    }

    static let loss = Loss.crossEntropy(labelSmoothing: 0, classWeights: nil)

    /// One rank's shard after a step: every tensor with its placement, value and gradient.
    struct ShardTensor: Sendable {
        let name: String
        let placement: ShardPlacement
        let values: [Float]
        let gradients: [Float]
    }

    struct RankResult: Sendable {
        let tensors: [ShardTensor]
        let loss: Float
        let outputs: [Float]
        /// The strategy's ‖g‖² over the whole model (what clipping by norm uses).
        let gradientSquaredNorm: Double
        /// W passes the stage ran ahead of their place while a receive was not in.
        let earlyWeightPasses: Int
    }

    /// Runs one step's forward and backward on `world` ranks laid out as `stages` ×
    /// `tensor` (the rest data parallel) over the whole batch, each data replica its slice.
    static func shardedStep(stages: Int, tensor: Int = 1, world: Int, schedule: PipelineScheduleKind,
                            microBatches: Int, rows: Int, partitioning: PipelinePartitioning = .parameters,
                            architecture: Architecture = Architecture(),
                            fillsWaitsWithWeightPasses: Bool = true) throws -> [RankResult] {
        let (features, targets) = batch(rows: rows, inputShape: architecture.inputShape, vocabulary: architecture.vocabulary)
        return try LocalCommunicator.run(ranks: world, deadline: 60) { communicator -> RankResult in
            let layout = try ParallelLayout(world: communicator, pipelineStages: stages, tensorWidth: tensor)
            let model = try Self.model(architecture)
            let step = ModelParallelStep(layout: layout, schedule: schedule, microBatches: microBatches,
                                         partitioning: partitioning)
            step.fillsWaitsWithWeightPasses = fillsWaitsWithWeightPasses
            let parts = StepParts.modelParallel(step)
            try parts.prepare(model: model, configHash: 1)
            let replicas = layout.dataParallelSize
            let mine = DistributedSampler.shard(layout.coordinates.data, of: replicas, count: rows)
            let batch = MicroBatch(features: features.gatherRows(Array(mine)), targets: targets.gatherRows(Array(mine)),
                                   gradientScale: Float(mine.count * replicas) / Float(rows))
            var generator = RandomGenerator(seed: 3)
            let outcomes = try parts.computeGradients([batch], loss: loss, step: 0, generator: &generator)
            let store = parts.parameters(of: model)
            let tensors = store.slots.map { slot in
                ShardTensor(name: slot.name, placement: step.shard!.placements[slot.name]!,
                            values: store.value(of: slot).scalars, gradients: store.gradient(of: slot).scalars)
            }
            return RankResult(tensors: tensors, loss: outcomes.first?.loss ?? .nan, outputs: outcomes.first?.outputs.scalars ?? [],
                              gradientSquaredNorm: try parts.sharding.squaredNorm(of: store, slots: store.slots),
                              earlyWeightPasses: step.lastProfile.earlyWeightPasses)
        }
    }

    /// The whole model's gradients (by name) from the ranks' shards.
    static func assembleGradients(_ results: [RankResult], like model: Model) -> [String: [Float]] {
        var global: [String: [Float]] = [:]
        for slot in model.parameters.slots { global[slot.name] = [Float](repeating: .nan, count: slot.count) }
        for tensor in results.flatMap(\.tensors) {
            tensor.gradients.withUnsafeBufferPointer { local in
                global[tensor.name]!.withUnsafeMutableBufferPointer { tensor.placement.insert(local, into: $0) }
            }
        }
        return global
    }

    /// The unsharded model's loss, outputs and gradients on the whole batch.
    static func reference(rows: Int, architecture: Architecture = Architecture()) throws -> (model: Model, loss: Float, outputs: [Float]) {
        let model = try Self.model(architecture)
        let (features, targets) = batch(rows: rows, inputShape: architecture.inputShape, vocabulary: architecture.vocabulary)
        let step = StepParts.singleRank()
        try step.prepare(model: model, configHash: 1)
        var generator = RandomGenerator(seed: 3)
        let outcome = try step.computeGradients([MicroBatch(features: features, targets: targets, gradientScale: 1)],
                                                loss: loss, step: 0, generator: &generator)[0]
        return (model, outcome.loss, outcome.outputs.scalars)
    }

    /// |a − b| ≤ 1e-5 · max|b| + 1e-7, elementwise.
    static func close(_ a: [Float], _ b: [Float]) -> Bool {
        let scale = b.map { abs($0) }.max() ?? 0
        return a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * scale + 1e-7 }
    }
}
