import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// EarlyStopping's `restore_best_weights` at `zero: 3`: each rank keeps a copy of its own
/// rows of the best weights (and checkpoints them in a file of its own) and restores
/// them, and the model is the one zero 0 restores.
@Suite struct ZeroThreeBestWeightsTests {
    /// Watching val_loss for its largest value makes epoch 1's weights the best (the loss
    /// falls), so restoring them changes the model.
    static func config(zero: Int, pipeline: Int = 1, epochs: Int = 3, restoring: Bool = true) throws -> TrainingConfig {
        var config = try ZeroTests.config(zero: zero, pipeline: pipeline, epochs: epochs)
        config.callbacks.earlyStopping = EarlyStopping(monitor: "val_loss", patience: 10, mode: .max, restoreBestWeights: restoring)
        return config
    }

    /// 2 data ranks, and 2 stages × 2 data ranks.
    @Test(arguments: [1, 2])
    func zeroThreeRestoresEachRanksRowsOfTheBestWeights(pipeline: Int) throws {
        let ranks = 2 * pipeline
        let plain = try ZeroThreeFixture.train(Self.config(zero: 0, pipeline: pipeline), ranks: ranks)
        let sharded = try ZeroThreeFixture.train(Self.config(zero: 3, pipeline: pipeline), ranks: ranks)
        let last = try ZeroThreeFixture.train(Self.config(zero: 0, pipeline: pipeline, restoring: false), ranks: ranks)
        #expect(ZeroTests.close(sharded.model, plain.model), "pipeline \(pipeline)")
        #expect(!ZeroTests.close(plain.model, last.model), "the best weights are not the last ones")
        for (rank, held) in sharded.held.enumerated() {
            #expect(held > 0 && held <= ZeroThreeFixture.mostHeld(ranks: 2), "rank \(rank) holds \(held) weights")
        }
    }

    /// A checkpoint at zero 3 holds each rank's rows of the best weights; resumed at zero 3
    /// for a third epoch, the run restores them at its end as an unbroken zero-0 run does.
    @Test func zeroThreeCheckpointsKeepEachRanksBestRows() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        _ = try ZeroThreeFixture.train(Self.config(zero: 3, epochs: 2), ranks: 2, folder: folder.url)
        let last = folder.url.appendingPathComponent("last").resolvingSymlinksInPath()
        let files = try FileManager.default.contentsOfDirectory(atPath: last.path)
        #expect(files.contains("best_model.zero-0.whole.safetensors") && files.contains("best_model.zero-1.whole.safetensors"), "\(files)")
        let resumed = try ZeroThreeFixture.train(Self.config(zero: 3), ranks: 2, folder: folder.url, resume: true)
        let plain = try ZeroThreeFixture.train(Self.config(zero: 0), ranks: 2)
        #expect(ZeroTests.close(resumed.model, plain.model))
    }
}
