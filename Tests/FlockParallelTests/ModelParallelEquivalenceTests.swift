import FlockComm
import Testing
@testable import FlockParallel

/// A sharded model computes what the unsharded one does: the same loss, outputs and every
/// gradient (relative 1e-5), for every schedule, stage count and micro-batch count.
@Suite struct ModelParallelEquivalenceTests {
    typealias Fixture = ShardedModelFixture

    func expectEquivalent(stages: Int, tensor: Int = 1, world: Int, schedule: PipelineScheduleKind, microBatches: Int,
                          rows: Int, partitioning: PipelinePartitioning = .parameters,
                          architecture: Fixture.Architecture = .init()) throws {
        let label = "S=\(stages) T=\(tensor) world=\(world) \(schedule.rawValue) M=\(microBatches) rows=\(rows)"
        let reference = try Fixture.reference(rows: rows, architecture: architecture)
        let results = try Fixture.shardedStep(stages: stages, tensor: tensor, world: world, schedule: schedule,
                                              microBatches: microBatches, rows: rows, partitioning: partitioning,
                                              architecture: architecture)
        let gradients = Fixture.assembleGradients(results, like: reference.model)
        for slot in reference.model.parameters.slots {
            let expected = reference.model.parameters.gradient(of: slot).scalars
            #expect(Fixture.close(gradients[slot.name]!, expected), "\(label): gradient of \(slot.name)")
        }
        // Every rank reports the whole model's loss; with one data replica, the outputs too.
        for (rank, result) in results.enumerated() where world == stages * tensor {
            #expect(abs(result.loss - reference.loss) <= 1e-5 * abs(reference.loss), "\(label): loss on rank \(rank)")
            #expect(Fixture.close(result.outputs, reference.outputs), "\(label): outputs on rank \(rank)")
        }
    }

    @Test(arguments: PipelineScheduleKind.allCases)
    func pipelineEqualsTheWholeModel(schedule: PipelineScheduleKind) throws {
        for stages in 2...4 {
            for microBatches in 1...8 {
                try expectEquivalent(stages: stages, world: stages, schedule: schedule, microBatches: microBatches, rows: 16)
            }
        }
    }

    @Test func aShortBatchRunsWithFewerPiecesThanMicroBatches() throws {
        // 3 samples cut into at most 3 pieces although M = 8; 5 samples into 4 uneven pieces.
        try expectEquivalent(stages: 3, world: 3, schedule: .oneForwardOneBackward, microBatches: 8, rows: 3)
        try expectEquivalent(stages: 2, world: 2, schedule: .zeroBubbleH1, microBatches: 4, rows: 5)
    }

    @Test func unevenExplicitPartition() throws {
        try expectEquivalent(stages: 2, world: 2, schedule: .gpipe, microBatches: 3, rows: 12,
                             partitioning: .boundaries([3]))
        try expectEquivalent(stages: 3, world: 3, schedule: .oneForwardOneBackward, microBatches: 4, rows: 12,
                             partitioning: .boundaries([1, 2]))
    }

    @Test func partitionByProfiledTime() throws {
        // Rank 0 times the layers and every rank takes its plan; any plan must compute the same.
        try expectEquivalent(stages: 3, world: 3, schedule: .zeroBubbleH1, microBatches: 4, rows: 12, partitioning: .time)
    }

    @Test(arguments: [2, 3, 4])
    func tensorParallelDenseAtWidthsTheGroupDoesNotDivide(width: Int) throws {
        try expectEquivalent(stages: 1, tensor: width, world: width, schedule: .gpipe, microBatches: 1, rows: 10)
    }

    /// Attention split by heads and a Transformer block split Megatron's way, at group
    /// sizes that divide neither the 3 heads nor the 5 hidden units (3 ranks: one head
    /// each; 2: two heads and one), alone and inside a pipeline.
    @Test(arguments: [2, 3])
    func tensorParallelAttentionAndTransformerBlocks(width: Int) throws {
        try expectEquivalent(stages: 1, tensor: width, world: width, schedule: .gpipe, microBatches: 1, rows: 6,
                             architecture: .sequences)
        try expectEquivalent(stages: 2, tensor: width, world: 2 * width, schedule: .oneForwardOneBackward, microBatches: 2,
                             rows: 6, architecture: .sequences)
    }

    /// The padding mask an embedding marks reaches attention and pooling in later stages
    /// (it does not travel with the activations: each stage derives it from the batch).
    @Test(arguments: [PipelineScheduleKind.oneForwardOneBackward, .zeroBubbleH1])
    func paddingHiddenInStagesAfterTheEmbedding(schedule: PipelineScheduleKind) throws {
        try expectEquivalent(stages: 2, world: 2, schedule: schedule, microBatches: 3, rows: 9,
                             partitioning: .boundaries([1]), architecture: .paddedTokens)
        try expectEquivalent(stages: 3, world: 3, schedule: schedule, microBatches: 2, rows: 8,
                             partitioning: .boundaries([1, 2]), architecture: .paddedTokens)
    }

    /// Clipping by norm sees the whole model's norm: slices add up, replicated layer norms
    /// and rank-0-only row biases count once.
    @Test(arguments: [2, 3])
    func theGradientNormCountsEveryParameterOnce(width: Int) throws {
        let reference = try Fixture.reference(rows: 6, architecture: .sequences)
        let expected = reference.model.parameters.slots.reduce(0.0) { sum, slot in
            sum + reference.model.parameters.gradient(of: slot).scalars.reduce(0.0) { $0 + Double($1) * Double($1) }
        }
        let results = try Fixture.shardedStep(stages: 2, tensor: width, world: 2 * width, schedule: .gpipe, microBatches: 2,
                                              rows: 6, architecture: .sequences)
        for (rank, result) in results.enumerated() {
            #expect(abs(result.gradientSquaredNorm - expected) <= 1e-5 * expected, "rank \(rank): \(result.gradientSquaredNorm) vs \(expected)")
        }
    }

    @Test func attentionLayersAreSplitByHeads() throws {
        let shards = try LocalCommunicator.run(ranks: 2, deadline: 30) { communicator -> [String: [Int]] in
            let model = try Fixture.model(.sequences)
            let group = TensorGroup(communicator: communicator)
            let shard = try ModelShard(model: model, layers: 0..<4, tensorGroup: group)
            return Dictionary(uniqueKeysWithValues: shard.parameters.slots.map { ($0.name, $0.shape) })
        }
        // Heads of width 2: rank 0 holds heads 0–1 (4 rows), rank 1 head 2 (2 rows).
        #expect(shards[0]["layers.0.query.weight"] == [4, 6] && shards[1]["layers.0.query.weight"] == [2, 6])
        #expect(shards[0]["layers.0.output.weight"] == [6, 4] && shards[1]["layers.0.output.weight"] == [6, 2])
        #expect(shards[0]["layers.0.output.bias"] == [6] && shards[1]["layers.0.output.bias"] == nil)
        #expect(shards[0]["layers.1.mlp_in.weight"] == [3, 6] && shards[1]["layers.1.mlp_in.weight"] == [2, 6])
        #expect(shards[0]["layers.1.attention_norm.weight"] == [6] && shards[1]["layers.1.attention_norm.weight"] == [6])
    }

    @Test func hybridDataPipelineAndTensor() throws {
        // D=2 × P=2; P=2 × T=2; D=2 × P=2 × T=2.
        try expectEquivalent(stages: 2, world: 4, schedule: .oneForwardOneBackward, microBatches: 2, rows: 16)
        try expectEquivalent(stages: 2, tensor: 2, world: 4, schedule: .zeroBubbleH1, microBatches: 3, rows: 12)
        try expectEquivalent(stages: 2, tensor: 2, world: 8, schedule: .gpipe, microBatches: 2, rows: 16)
    }
}
