import FlockNN
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// TerminateOnNaN checks what a checkpoint is about to save, not only the loss and the
/// gradients: finite gradients can still overflow the weights or the optimizer's moments.
@Suite struct NonFiniteStateTests {
    /// One optimizer step per epoch, with a learning rate beyond Float's range: the first
    /// step's gradients are finite, the weights it writes are not.
    func overflowingTrainer(_ data: TrainingData, folder: URL, terminateOnNaN: Bool) throws -> Trainer {
        let model = try Model([.dense(units: 8, activation: .relu), .dense(units: 10)], inputShape: data.training.featureShape, seed: 9)
        var options = TrainingOptions()
        options.epochs = 2
        options.batchSize = data.training.count
        options.learningRate = 1e39
        options.checkpointing = ModelCheckpoint(monitor: "val_loss", saveBest: 1)
        options.nonFinite = terminateOnNaN ? TerminateOnNaN() : nil
        let trainer = try Trainer(model: model, data: data, loss: .crossEntropy(labelSmoothing: 0, classWeights: nil),
                                  optimizer: Adam(), step: .singleRank(), options: options)
        trainer.checkpointFolder = folder
        return trainer
    }

    @Test func nonFiniteWeightsAreNeverCheckpointed() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = try LibraryTrainerTests.data()
        let trainer = try overflowingTrainer(data, folder: folder.url, terminateOnNaN: true)
        let error = #expect(throws: NonFiniteLossError.self) { _ = try trainer.fit() }
        #expect(error?.description == "training stopped: non-finite weights or optimizer state (not checkpointed) at step 1 (epoch 1, batch 1)")
        #expect(!FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("last").path))
    }

    @Test func withTerminateOnNaNOffTrainingGoesOn() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = try LibraryTrainerTests.data()
        let summary = try overflowingTrainer(data, folder: folder.url, terminateOnNaN: false).fit()
        #expect(summary.epochsRun == 2)
        #expect(FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("last").path))
    }
}
