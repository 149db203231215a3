import FlockComm
import FlockNN
import FlockParallel
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// `parallel.zero: 3` with pipeline stages and tensor slices: each data rank of a shard
/// keeps its rows of the shard's weights and gathers a layer's around each forward and backward, and the
/// model is plain pipeline training's — also when the replicas cut the short last batch
/// into different numbers of pieces or one has no samples at all (its schedule runs the
/// others' pieces as ghosts that only gather).
@Suite struct ZeroThreePipelineTests {
    struct Outcome {
        let model: [Float]
        /// Non-zero weights each rank holds between steps, its rows' count and its shard's.
        let held: [Int], rows: [Int], shard: [Int]
        let valLoss: [Double]
        let samples: Int
    }

    /// The whole model (gathered on rank 0) and what each rank holds between steps, after
    /// training `config` on 4 ranks: 2 stages or 2 tensor slices, × 2 data replicas.
    static func train(_ config: TrainingConfig) throws -> Outcome {
        let results = try LocalCommunicator.run(ranks: 4, deadline: 120) { communicator in
            let trainer = try Trainer(config: config, communicator: communicator)
            let summary = try trainer.fit()
            let held = trainer.parameters.withParameters { values in values.filter { $0 != 0 }.count }
            return (try trainer.wholeModelState(), held, trainer.optimizerStateShard?.store.count ?? 0, trainer.parameters.count,
                    summary.final["val_loss"] ?? .nan, trainer.data.training.count)
        }
        return Outcome(model: try #require(results[0].0), held: results.map(\.1), rows: results.map(\.2), shard: results.map(\.3),
                       valLoss: results.map(\.4), samples: results[0].5)
    }

    static func config(zero: Int, tensor: Int = 1, batchSize: Int = 48, epochs: Int = 2) throws -> TrainingConfig {
        var config = try ZeroTests.config(zero: zero, pipeline: tensor == 1 ? 2 : 1, tensor: tensor, epochs: epochs)
        config.data.batchSize = batchSize
        return config
    }

    /// Batches of 48 (every replica 4 pieces), of 356 (a last batch of 3: the replicas
    /// run 2 and 1 pieces) and of 358 (a last batch of 1: one replica has none).
    @Test(arguments: [48, 356, 358])
    func zeroThreeOnPipelineStagesEqualsPlainPipeline(batchSize: Int) throws {
        let epochs = batchSize == 48 ? 2 : 1
        let plain = try Self.train(Self.config(zero: 0, batchSize: batchSize, epochs: epochs))
        let sharded = try Self.train(Self.config(zero: 3, batchSize: batchSize, epochs: epochs))
        if batchSize > 48 { #expect(sharded.samples % batchSize == 359 - batchSize, "\(sharded.samples) training samples") }
        #expect(ZeroTests.close(sharded.model, plain.model), "batch \(batchSize)")
        #expect(sharded.valLoss.allSatisfy { $0 == sharded.valLoss[0] && $0.isFinite }, "\(sharded.valLoss)")
        // Stage 0 is layer 0 (a (7, 64) weight and 7 biases), stage 1 the rest: a data rank
        // keeps at most ⌈rows / 2⌉ rows of each between steps.
        let stageZero = 4 * 65, stageOne = 3 * 8 + 5 * 6
        let stages = try LocalCommunicator.run(ranks: 4, deadline: 30) { communicator in
            try ParallelLayout(world: communicator, pipelineStages: 2, tensorWidth: 1).coordinates.pipeline
        }
        for rank in 0..<4 {
            let most = stages[rank] == 0 ? stageZero : stageOne
            #expect(sharded.held[rank] > 0 && sharded.held[rank] <= most, "rank \(rank) (stage \(stages[rank])) holds \(sharded.held[rank])")
        }
    }

    /// 2 tensor slices × 2 data replicas: each data rank keeps its rows of its slices
    /// (split on the slice's own axis), initialized at their places in the whole tensors,
    /// and the model is plain tensor-parallel training's.
    @Test(arguments: [48, 358])
    func zeroThreeOnTensorSlicesEqualsPlainTensorParallelism(batchSize: Int) throws {
        let epochs = batchSize == 48 ? 2 : 1
        let plain = try Self.train(Self.config(zero: 0, tensor: 2, batchSize: batchSize, epochs: epochs))
        let sharded = try Self.train(Self.config(zero: 3, tensor: 2, batchSize: batchSize, epochs: epochs))
        #expect(ZeroTests.close(sharded.model, plain.model), "batch \(batchSize)")
        #expect(sharded.valLoss.allSatisfy { $0 == sharded.valLoss[0] && $0.isFinite }, "\(sharded.valLoss)")
        for rank in 0..<4 {
            #expect(sharded.held[rank] <= sharded.rows[rank] && 2 * sharded.rows[rank] <= sharded.shard[rank] + 3 * 65,
                    "rank \(rank) holds \(sharded.held[rank]) values, \(sharded.rows[rank]) rows of a \(sharded.shard[rank])-value slice")
        }
    }

    /// `flock train --ranks 4` with 2 stages or 2 tensor slices at zero 3: the final model
    /// file, written from each rank's rows at their places, is plain model-parallel
    /// training's; the checkpoint holds a rows file per data rank and shard and no whole
    /// shard file, and resumes on one rank at zero 0.
    @Test(arguments: [1, 2])
    func zeroThreeShardCheckpointsHoldEachRanksRows(tensor: Int) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try folder.write("zero.yaml", try ConfigLoader.yaml(of: Self.config(zero: 0, tensor: tensor)))
        let plain = folder.url.appendingPathComponent("plain"), sharded = folder.url.appendingPathComponent("zero")
        let one = try ChildProcess.flock(["train", config.path, "--ranks", "4", "--run-dir", plain.path])
        #expect(one.status == 0, "\(one.standardError)")
        let four = try ChildProcess.flock(["train", config.path, "--ranks", "4", "--set", "parallel.zero=3", "--run-dir", sharded.path])
        #expect(four.status == 0, "\(four.standardError)")
        let names = try ZeroTests.config(zero: 0).makeModel(inputShape: [64]).parameters.stateLayout.map(\.name)
        func weights(_ run: URL) throws -> [Float] {
            let tensors = try SafeTensors.read(run.appendingPathComponent("model.safetensors"))
            return names.flatMap { tensors[$0]!.scalars }
        }
        #expect(ZeroTests.close(try weights(sharded), try weights(plain)))
        let last = sharded.appendingPathComponent("checkpoints/last").resolvingSymlinksInPath()
        let files = try FileManager.default.contentsOfDirectory(atPath: last.path)
        let shards = tensor == 1 ? ["stage-0.tensor-0", "stage-1.tensor-0"] : ["stage-0.tensor-0", "stage-0.tensor-1"]
        for shard in shards {
            for data in 0..<2 { #expect(files.contains("model.zero-\(data).\(shard).safetensors"), "\(shard) in \(files)") }
            #expect(!files.contains("model.\(shard).safetensors"), "\(files)")
        }
        let resumed = try ZeroTests.train(ZeroTests.config(zero: 0, epochs: 2), ranks: 1,
                                          folder: sharded.appendingPathComponent("checkpoints"), resumeOnly: true)
        #expect(ZeroTests.close(resumed[0].state, try weights(sharded)))
    }

    @Test func zeroThreeRefusesTimedPartitions() throws {
        var timed = try ZeroTests.config(zero: 3, pipeline: 2)
        timed.parallel.partition = .time
        #expect(throws: ConfigError.self) { try timed.validate() }
        try ZeroTests.config(zero: 3, pipeline: 2).validate()
    }
}
