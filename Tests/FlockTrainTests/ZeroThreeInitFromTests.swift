import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// `init_from` at `zero: 3`: each rank reads only its rows of each loaded tensor from the
/// checkpoint's files (no rank builds the whole model), and the fine-tuned model is the
/// one zero 0 trains from the same checkpoint.
@Suite struct ZeroThreeInitFromTests {
    /// The ZeroTests model after one epoch on one rank at zero 0, checkpointed in `folder`.
    static func source(in folder: TemporaryFolder) throws -> URL {
        _ = try ZeroTests.train(ZeroTests.config(zero: 0, epochs: 1), ranks: 1, folder: folder.url)
        return folder.url.appendingPathComponent("last")
    }

    /// Fine-tuning from `checkpoint` with another seed, the head left fresh.
    static func fineTuning(zero: Int, pipeline: Int = 1, tensor: Int = 1, from checkpoint: URL) throws -> TrainingConfig {
        var config = try ZeroTests.config(zero: zero, pipeline: pipeline, tensor: tensor, epochs: 1)
        config.seed = 4
        config.initFrom = InitFromConfig(checkpoint: checkpoint.path, exclude: ["layers.2.*"])
        return config
    }

    /// 2 data ranks, 2 stages × 2 data ranks, and 2 tensor slices × 2 data ranks (each
    /// rank reads its rows of its slice).
    @Test(arguments: [(1, 1), (2, 1), (1, 2)])
    func zeroThreeLoadsEachRanksRowsOfInitFrom(pipeline: Int, tensor: Int) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let checkpoint = try Self.source(in: folder)
        let ranks = 2 * pipeline * tensor
        let plain = try ZeroThreeFixture.train(Self.fineTuning(zero: 0, pipeline: pipeline, tensor: tensor, from: checkpoint), ranks: ranks)
        let sharded = try ZeroThreeFixture.train(Self.fineTuning(zero: 3, pipeline: pipeline, tensor: tensor, from: checkpoint), ranks: ranks)
        #expect(ZeroTests.close(sharded.model, plain.model), "pipeline \(pipeline), tensor \(tensor)")
        #expect(plain.report?.loaded == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"], "\(String(describing: plain.report))")
        #expect(sharded.report == plain.report)
        // Right after start-up (the checkpoint's values loaded) each rank holds its rows only.
        for (rank, held) in sharded.heldAtStart.enumerated() {
            #expect(held > 0 && held <= ZeroThreeFixture.mostHeld(ranks: 2), "rank \(rank) holds \(held) weights at start-up")
        }
    }

    /// A tensor the model has at another shape is left fresh and named, as at zero 0.
    @Test func zeroThreeLeavesMismatchedTensorsFresh() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let checkpoint = try Self.source(in: folder)
        func config(zero: Int) throws -> TrainingConfig {
            var config = try Self.fineTuning(zero: zero, from: checkpoint)
            config.initFrom?.exclude = []
            try config.set("model[1].units", to: .int(6))
            return config
        }
        let plain = try ZeroThreeFixture.train(config(zero: 0), ranks: 2)
        let sharded = try ZeroThreeFixture.train(config(zero: 3), ranks: 2)
        #expect(ZeroTests.close(sharded.model, plain.model))
        #expect(sharded.report == plain.report && plain.report?.mismatched.count == 3, "\(String(describing: sharded.report))")
    }
}
