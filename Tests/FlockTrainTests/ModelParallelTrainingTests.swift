import FlockComm
import FlockData
import FlockNN
import FlockParallel
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Training a sharded model with the whole trainer (Adam, epochs, a short last batch,
/// checkpoints) matches training it on one rank, and checkpoints move between layouts.
@Suite struct ModelParallelTrainingTests {
    /// A job layout: data replicas × pipeline stages × tensor slices.
    struct Layout: CustomStringConvertible, Sendable {
        var data = 1, pipeline = 1, tensor = 1
        var ranks: Int { data * pipeline * tensor }
        var description: String { "D\(data)×P\(pipeline)×T\(tensor)" }
    }

    /// 100 samples of 6 features, 3 classes: batches of 16 leave a short last batch of 4.
    static func data() -> TrainingData {
        var generator = RandomGenerator(seed: 21)
        let rows = 100, width = 6
        let features = (0..<(rows * width)).map { _ in generator.nextUniform(-1, 1) }
        let targets = (0..<rows).map { row in Float(features[row * width] + features[row * width + 1] > 0 ? 1 : (row % 3 == 0 ? 2 : 0)) }
        let all = Dataset(features: Tensor(shape: [rows, width], scalars: features), targets: Tensor(shape: [rows], scalars: targets))
        return TrainingData(training: all, validation: all.subset(Array(0..<20)),
                            normalizer: Normalizer(method: .none, fittingOn: all.features), classCount: 3)
    }

    static func strategy(_ layout: Layout, communicator: any Communicator) throws -> StepParts {
        guard layout.ranks > 1 else { return .singleRank() }
        let parallel = try ParallelLayout(world: communicator, pipelineStages: layout.pipeline, tensorWidth: layout.tensor)
        guard layout.pipeline > 1 || layout.tensor > 1 else { return .dataParallel(layout: parallel) }
        return .modelParallel(ModelParallelStep(layout: parallel, schedule: .oneForwardOneBackward, microBatches: 4))
    }

    /// One rank's parameters after training, each with where it sits in the whole model.
    struct Shard: Sendable {
        let tensors: [String: Tensor]
        let placements: [String: ShardPlacement]
    }

    /// Trains `epochs` epochs (from `folder`'s last checkpoint when `resume`), checkpointing
    /// into `folder`; returns the whole model's parameters put together from the shards.
    static func train(_ layout: Layout, epochs: Int, folder: URL, resume: Bool = false) throws -> [String: [Float]] {
        let shards = try LocalCommunicator.run(ranks: layout.ranks, deadline: 60) { communicator -> Shard in
            let model = try Model([.dense(units: 7, activation: .relu), .dense(units: 5, activation: .tanh),
                                   .dense(units: 9, activation: .relu), .dense(units: 3)], inputShape: [6], seed: 4)
            var options = TrainingOptions()
            options.epochs = epochs
            options.batchSize = 16
            options.seed = 4
            options.learningRate = 0.01
            options.checkpointing = ModelCheckpoint(monitor: "val_loss", saveBest: 1)
            let trainer = try Trainer(model: model, data: Self.data(), loss: .crossEntropy(labelSmoothing: 0, classWeights: nil),
                                      optimizer: Adam(), step: try strategy(layout, communicator: communicator), options: options)
            trainer.checkpointFolder = communicator.rank == 0 ? folder : nil
            trainer.sharedCheckpointFolder = folder
            if resume { try trainer.resume(from: Checkpoint.load(folder.appendingPathComponent("last"))) }
            _ = try trainer.fit()
            let store = trainer.parameters
            return Shard(tensors: Dictionary(uniqueKeysWithValues: store.slots.map { ($0.name, store.value(of: $0)) }),
                         placements: Dictionary(uniqueKeysWithValues: store.slots.compactMap { slot in
                             trainer.parts.sharding.placement(ofTensor: slot.name).map { (slot.name, $0) }
                         }))
        }
        var global = GlobalTensors()
        for (rank, shard) in shards.enumerated() {
            try global.add(shard.tensors, placements: shard.placements, source: "rank \(rank)")
        }
        return try global.wholeTensors().mapValues(\.scalars)
    }

    /// Every parameter within 1e-5 of the reference's largest value in that tensor.
    static func expectClose(_ found: [String: [Float]], _ reference: [String: [Float]], _ label: String) {
        #expect(found.keys.sorted() == reference.keys.sorted(), "\(label): parameter names")
        for (name, expected) in reference {
            let scale = expected.map { abs($0) }.max() ?? 0
            let worst = zip(found[name] ?? [], expected).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-5 * scale, "\(label): \(name) differs by \(worst) (scale \(scale))")
        }
    }

    @Test func shardedTrainingEqualsOneRank() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let reference = try Self.train(Layout(), epochs: 2, folder: folder.url.appendingPathComponent("one"))
        for layout in [Layout(pipeline: 2), Layout(pipeline: 3), Layout(tensor: 2), Layout(data: 2, pipeline: 2),
                       Layout(pipeline: 2, tensor: 2)] {
            let found = try Self.train(layout, epochs: 2, folder: folder.url.appendingPathComponent("\(layout)"))
            Self.expectClose(found, reference, "\(layout)")
        }
    }

    @Test func aCheckpointResumesInAnotherLayout() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let reference = try Self.train(Layout(), epochs: 2, folder: folder.url.appendingPathComponent("reference"))
        let moves: [(Layout, Layout)] = [(Layout(pipeline: 2), Layout()), (Layout(), Layout(pipeline: 3)),
                                         (Layout(pipeline: 2), Layout(tensor: 2)), (Layout(data: 2, pipeline: 2), Layout(pipeline: 2)),
                                         (Layout(tensor: 3), Layout(data: 2))]
        for (index, (from, to)) in moves.enumerated() {
            let run = folder.url.appendingPathComponent("move-\(index)")
            _ = try Self.train(from, epochs: 1, folder: run)
            let resumed = try Self.train(to, epochs: 2, folder: run, resume: true)
            Self.expectClose(resumed, reference, "\(from) → \(to)")
        }
    }

    @Test func sameLayoutResumesByteForByte() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        for layout in [Layout(pipeline: 2), Layout(pipeline: 2, tensor: 2)] {
            let straight = try Self.train(layout, epochs: 2, folder: folder.url.appendingPathComponent("straight-\(layout)"))
            let run = folder.url.appendingPathComponent("resumed-\(layout)")
            _ = try Self.train(layout, epochs: 1, folder: run)
            let resumed = try Self.train(layout, epochs: 2, folder: run, resume: true)
            #expect(resumed == straight, "\(layout): resumed weights differ from an uninterrupted run")
        }
    }
}
