import FlockComm
import FlockNN
import FlockParallel
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// `parallel.zero: 1`: each data rank keeps the optimizer's state of its rows only, and the
/// weights after every step are bit for bit those of plain data parallelism — at 2, 3 and 4
/// ranks, with widths no rank count divides, AdamW and clipping by global norm, and with
/// pipeline and tensor parallelism; its checkpoints hold every rank's rows and load into
/// any other stage and rank count.
@Suite struct ZeroTests {
    static func config(zero: Int, pipeline: Int = 1, tensor: Int = 1, epochs: Int = 2, bucketMB: Double = 25) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 3
            epochs: \(epochs)
            data: {source: \(ChildProcess.digitsCSV), label_column: label, validation_split: 0.8, batch_size: 48}
            model:
              - {type: dense, units: 7, activation: relu}
              - {type: dense, units: 5, activation: tanh}
              - {type: dense, units: 10}
            optimizer: {name: adamw, lr: 0.01, weight_decay: 0.01}
            gradient_clipping: {max_norm: 0.5}
            parallel: {zero: \(zero), pipeline: \(pipeline), tensor: \(tensor), bucket_mb: \(bucketMB)}
            """, baseDirectory: "/")
    }

    struct RankState: Sendable {
        let state: [Float]
        let optimizer: [String: [Float]]
        let wholeCount: Int
    }

    /// Each rank's parameters and buffers and optimizer buffers after training `config`
    /// (checkpointing into `folder`, or resuming from its last checkpoint).
    /// With `unshared`, the other ranks do not see rank 0's folder (as on hosts without a
    /// shared file system): their files travel to rank 0.
    /// `gatherChunk` sets the values the rows' all-gather moves at a time.
    static func train(_ config: TrainingConfig, ranks: Int, folder: URL? = nil, resumeOnly: Bool = false,
                      unshared: Bool = false, gatherChunk: Int? = nil) throws -> [RankState] {
        try LocalCommunicator.run(ranks: ranks, deadline: 120) { communicator in
            let trainer = try Trainer(config: config, communicator: communicator)
            if let gatherChunk { trainer.optimizerStateShard?.gatherChunkElements = gatherChunk }
            trainer.checkpointFolder = communicator.rank == 0 ? folder : nil
            trainer.sharedCheckpointFolder = unshared && communicator.rank > 0 ? folder?.appendingPathComponent("elsewhere") : folder
            if resumeOnly, let folder {
                try trainer.resume(from: Checkpoint.load(folder.appendingPathComponent("last")))
            } else {
                _ = try trainer.fit()
            }
            return RankState(state: trainer.parameters.snapshotState(), optimizer: trainer.optimizer.stateBuffers,
                             wholeCount: trainer.parameters.count)
        }
    }

    /// The rows are all-gathered in one piece (the model is small) and, at 3 ranks, a few
    /// parameters at a time.
    @Test(arguments: [(2, nil), (3, nil), (4, nil), (3, 100)])
    func zeroOneEqualsDataParallelism(ranks: Int, gatherChunk: Int?) throws {
        let plain = try Self.train(Self.config(zero: 0), ranks: ranks)
        let sharded = try Self.train(Self.config(zero: 1), ranks: ranks, gatherChunk: gatherChunk)
        for rank in 0..<ranks {
            #expect(sharded[rank].state == plain[rank].state, "rank \(rank) of \(ranks)")
            // Weights (7, 64), (5, 7), (10, 5) and their biases: at most ⌈rows / ranks⌉ rows of each.
            let most = [(7, 65), (5, 8), (10, 6)].reduce(0) { $0 + ($1.0 + ranks - 1) / ranks * $1.1 }
            let rows = sharded[rank].optimizer["first_moment"]?.count ?? 0
            #expect(rows > 0 && rows <= most, "rank \(rank) keeps \(rows) of \(sharded[rank].wholeCount) moments")
        }
        #expect(sharded.map { $0.optimizer["first_moment"]!.count }.reduce(0, +) == sharded[0].wholeCount)
    }

    /// Zero 1 bit for bit, zero 2 to 1e-5, with a pipeline of 2 stages and with 2 tensor slices.
    @Test(arguments: [(1, 2, 1), (1, 1, 2), (2, 2, 1), (2, 1, 2)])
    func zeroEqualsDataParallelismWithModelParallelism(stage: Int, pipeline: Int, tensor: Int) throws {
        let ranks = 2 * pipeline * tensor
        let plain = try Self.train(Self.config(zero: 0, pipeline: pipeline, tensor: tensor), ranks: ranks)
        let sharded = try Self.train(Self.config(zero: stage, pipeline: pipeline, tensor: tensor), ranks: ranks)
        for rank in 0..<ranks {
            let same = stage == 1 ? sharded[rank].state == plain[rank].state : Self.close(sharded[rank].state, plain[rank].state)
            #expect(same, "rank \(rank), zero \(stage), P\(pipeline) T\(tensor)")
        }
    }

    /// The moments written by 2 ranks at zero 1 are those of plain data parallelism, and
    /// load into 3 ranks at zero 1 (each its rows) and into one rank (all of them).
    @Test func zeroCheckpointsLoadIntoOtherStagesAndRankCounts() throws {
        let sharded = try TemporaryFolder(), plain = try TemporaryFolder()
        defer { sharded.cleanUp(); plain.cleanUp() }
        _ = try Self.train(Self.config(zero: 1, epochs: 1), ranks: 2, folder: sharded.url)
        _ = try Self.train(Self.config(zero: 0, epochs: 1), ranks: 2, folder: plain.url)
        let reference = try Checkpoint.load(plain.url.appendingPathComponent("last")).optimizer
        let written = try Checkpoint.load(sharded.url.appendingPathComponent("last"))
        #expect(written.optimizerTensors != nil && written.flatOptimizer == nil)
        let files = try FileManager.default.contentsOfDirectory(atPath: sharded.url.appendingPathComponent("last").resolvingSymlinksInPath().path)
        #expect(files.contains("optimizer.zero-0.whole.safetensors") && files.contains("optimizer.zero-1.whole.safetensors"), "\(files)")

        let one = try Self.train(Self.config(zero: 0, epochs: 1), ranks: 1, folder: sharded.url, resumeOnly: true)
        #expect(one[0].optimizer == reference)
        let three = try Self.train(Self.config(zero: 1, epochs: 1), ranks: 3, folder: sharded.url, resumeOnly: true)
        let moments = reference["second_moment"]!
        let rows = try LocalCommunicator.run(ranks: 3, deadline: 30) { communicator in
            let model = try Self.config(zero: 0).makeModel(inputShape: [64])
            return OptimizerStateShard(parameters: model.parameters, group: communicator).rows(of: moments)
        }
        for rank in 0..<3 { #expect(three[rank].optimizer["second_moment"] == rows[rank], "rank \(rank) of 3") }
    }

    /// Ranks that cannot see the checkpoint folder send their rows to rank 0: the same
    /// checkpoint, byte for byte.
    @Test func withoutASharedFolderTheRowsTravelToRankZero() throws {
        let shared = try TemporaryFolder(), unshared = try TemporaryFolder()
        defer { shared.cleanUp(); unshared.cleanUp() }
        _ = try Self.train(Self.config(zero: 1, epochs: 1), ranks: 3, folder: shared.url)
        _ = try Self.train(Self.config(zero: 1, epochs: 1), ranks: 3, folder: unshared.url, unshared: true)
        for file in ["optimizer.zero-1.whole.safetensors", "optimizer.zero-2.whole.safetensors", "model.safetensors"] {
            let written = try Data(contentsOf: shared.url.appendingPathComponent("last/\(file)"))
            #expect(try Data(contentsOf: unshared.url.appendingPathComponent("last/\(file)")) == written, "\(file)")
        }
        #expect(!FileManager.default.fileExists(atPath: unshared.url.appendingPathComponent("elsewhere").path))
    }

    /// The start-up estimate counts a rank's share of the optimizer's state: 8 bytes per
    /// parameter whole, Adam's 8 over the 2 ranks.
    @Test func theEstimateCountsTheShareOfTheOptimizersState() throws {
        let lines = try LocalCommunicator.run(ranks: 2, deadline: 60) { communicator in
            try Trainer(config: Self.config(zero: 1), communicator: communicator).memoryEstimate.line
        }
        // 64·7 + 7 + 7·5 + 5 + 5·10 + 10 = 555 parameters: 555 × (8 + 4) bytes.
        #expect(lines.allSatisfy { $0.contains("state 0 MB (555 parameters × 8 + 8/2 B)") }, "\(lines)")
        let plain = try LocalCommunicator.run(ranks: 2, deadline: 60) { communicator in
            try Trainer(config: Self.config(zero: 0), communicator: communicator).memoryEstimate.stateBytes
        }
        #expect(plain == [555 * 16, 555 * 16])
    }

    /// Whether `a` and `b` agree within `tolerance` (absolute, or relative to larger values).
    static func close(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($1)) }
    }

    /// Zero 2 reduce-scatters gradients instead of allreducing them: the sums run in
    /// another order, so the weights agree with plain data parallelism to 1e-5, not bit
    /// for bit. Buckets of 400 bytes make dozens of buckets, more than may travel at once.
    @Test(arguments: [(2, 25.0), (3, 25.0), (4, 25.0), (3, 0.0004)])
    func zeroTwoEqualsDataParallelism(ranks: Int, bucketMB: Double) throws {
        let plain = try Self.train(Self.config(zero: 0), ranks: ranks)
        let sharded = try Self.train(Self.config(zero: 2, bucketMB: bucketMB), ranks: ranks)
        for rank in 0..<ranks {
            #expect(Self.close(sharded[rank].state, plain[rank].state), "rank \(rank) of \(ranks)")
            #expect(sharded[rank].state == sharded[0].state, "rank \(rank) holds the same model as rank 0")
        }
        #expect(sharded.map { $0.optimizer["first_moment"]!.count }.reduce(0, +) == sharded[0].wholeCount)
    }

    /// A checkpoint written at zero 2 on 3 ranks resumes on one rank at zero 0 with the
    /// moments of plain data parallelism (to 1e-5), and on 2 ranks at zero 1.
    @Test func zeroTwoCheckpointsLoadIntoOtherStagesAndRankCounts() throws {
        let sharded = try TemporaryFolder(), plain = try TemporaryFolder()
        defer { sharded.cleanUp(); plain.cleanUp() }
        _ = try Self.train(Self.config(zero: 2, epochs: 1), ranks: 3, folder: sharded.url)
        _ = try Self.train(Self.config(zero: 0, epochs: 1), ranks: 3, folder: plain.url)
        let reference = try Checkpoint.load(plain.url.appendingPathComponent("last")).optimizer
        let one = try Self.train(Self.config(zero: 0, epochs: 1), ranks: 1, folder: sharded.url, resumeOnly: true)
        for name in ["first_moment", "second_moment"] {
            #expect(Self.close(one[0].optimizer[name] ?? [], reference[name]!, tolerance: 1e-4), "\(name)")
        }
        let two = try Self.train(Self.config(zero: 1, epochs: 1), ranks: 2, folder: sharded.url, resumeOnly: true)
        #expect(two.map { $0.optimizer["first_moment"]!.count }.reduce(0, +) == two[0].wholeCount)
    }

    /// At zero 2 the estimate counts a rank's share of the gradients as well.
    @Test func theEstimateCountsTheShareOfTheGradients() throws {
        let lines = try LocalCommunicator.run(ranks: 2, deadline: 60) { communicator in
            try Trainer(config: Self.config(zero: 2), communicator: communicator).memoryEstimate
        }
        // 555 parameters × (4 + 4/2 + 8/2) bytes.
        #expect(lines.allSatisfy { $0.line.contains("555 parameters × 4 + 4/2 + 8/2 B") && $0.stateBytes == 555 * 4 + 555 * 2 + 555 * 4 },
                "\(lines.map(\.line))")
    }

    /// Zero 3 keeps each rank's rows of the weights and gathers a layer's rows as it runs:
    /// the whole model, gathered at the end, is plain data parallelism's to 1e-5; the
    /// validation shards of 3 ranks differ in size, so evaluation runs in step too.
    @Test(arguments: [2, 3, 4])
    func zeroThreeEqualsDataParallelism(ranks: Int) throws {
        let plain = try Self.train(Self.config(zero: 0), ranks: ranks)
        let sharded = try LocalCommunicator.run(ranks: ranks, deadline: 120) { communicator in
            let trainer = try Trainer(config: Self.config(zero: 3), communicator: communicator)
            let summary = try trainer.fit()
            let own = trainer.parameters.withParameters { values in values.filter { $0 != 0 }.count }
            return (try trainer.wholeModelState(), own, summary.final["val_loss"] ?? .nan)
        }
        #expect(Self.close(try #require(sharded[0].0), plain[0].state))
        // Between steps a rank holds about 1/N of the weights (its rows), the rest given back.
        let most = [(7, 65), (5, 8), (10, 6)].reduce(0) { $0 + ($1.0 + ranks - 1) / ranks * $1.1 }
        for rank in 0..<ranks { #expect(sharded[rank].1 <= most, "rank \(rank) holds \(sharded[rank].1) non-zero weights") }
        #expect(sharded.allSatisfy { $0.2 == sharded[0].2 && $0.2.isFinite })
    }

    /// A last batch of 3 samples on 4 ranks leaves one rank without samples: it still takes
    /// part in every layer's gathers, and the model is plain data parallelism's.
    @Test func zeroThreeWithARankWithoutSamples() throws {
        var plainConfig = try Self.config(zero: 0, epochs: 1), shardedConfig = try Self.config(zero: 3, epochs: 1)
        plainConfig.data.batchSize = 356
        shardedConfig.data.batchSize = 356
        let plain = try Self.train(plainConfig, ranks: 4)
        let config = shardedConfig
        let sharded = try LocalCommunicator.run(ranks: 4, deadline: 60) { communicator in
            let trainer = try Trainer(config: config, communicator: communicator)
            _ = try trainer.fit()
            return (try trainer.wholeModelState(), trainer.data.training.count)
        }
        #expect(sharded[0].1 % 356 < 4 && sharded[0].1 % 356 > 0, "the last batch leaves a rank without samples: \(sharded[0].1) samples")
        #expect(Self.close(try #require(sharded[0].0), plain[0].state))
    }

    /// `flock train --ranks 3` at zero 3: the final model file, written by each rank's rows,
    /// is plain data parallelism's; its checkpoint (each rank's rows in a file of its own)
    /// resumes on one rank at zero 0.
    @Test func zeroThreeWritesTheModelFromEachRanksRows() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try folder.write("zero.yaml", try ConfigLoader.yaml(of: Self.config(zero: 0)))
        let plain = folder.url.appendingPathComponent("plain"), sharded = folder.url.appendingPathComponent("zero")
        let one = try ChildProcess.flock(["train", config.path, "--ranks", "3", "--run-dir", plain.path])
        #expect(one.status == 0, "\(one.standardError)")
        let three = try ChildProcess.flock(["train", config.path, "--ranks", "3", "--set", "parallel.zero=3", "--run-dir", sharded.path])
        #expect(three.status == 0, "\(three.standardError)")
        #expect(three.standardOutput.contains("555 parameters × 16/3 B"), "\(three.standardOutput)")
        let names = try Self.config(zero: 0).makeModel(inputShape: [64]).parameters.stateLayout.map(\.name)
        func weights(_ run: URL) throws -> [Float] {
            let tensors = try SafeTensors.read(run.appendingPathComponent("model.safetensors"))
            return names.flatMap { tensors[$0]!.scalars }
        }
        #expect(Self.close(try weights(sharded), try weights(plain)))
        let last = sharded.appendingPathComponent("checkpoints/last").resolvingSymlinksInPath()
        let files = try FileManager.default.contentsOfDirectory(atPath: last.path)
        #expect(files.contains("model.zero-2.whole.safetensors") && !files.contains("model.safetensors"), "\(files)")
        let resumed = try Self.train(Self.config(zero: 0, epochs: 2), ranks: 1, folder: sharded.appendingPathComponent("checkpoints"),
                                     resumeOnly: true)
        #expect(Self.close(resumed[0].state, try weights(sharded)))
    }

    @Test func zeroTwoRefusesCompression() {
        #expect(throws: ConfigError.self) {
            var config = try Self.config(zero: 2)
            config.parallel.compression = .bf16
            try config.validate()
        }
    }
}
