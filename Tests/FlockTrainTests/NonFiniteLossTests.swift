import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

/// TerminateOnNaN: a step whose loss or gradients are not finite is never applied.
@Suite struct NonFiniteLossTests {
    /// The learning rate jumps ×10⁶ every epoch: epoch 1 trains, later epochs diverge.
    static func config(_ callbacks: String) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 1
            epochs: 3
            data: {source: \(DataParallelTests.digits), label_column: label, batch_size: 32}
            model: [{type: dense, units: 32, activation: relu}, {type: dense, units: 10}]
            optimizer: {name: sgd, lr: 0.01}
            schedule: {name: step, step_size: 1, gamma: 1000000}
            callbacks: \(callbacks)
            """, baseDirectory: "/")
    }

    @Test func stopNamesTheStepAndKeepsFiniteWeights() throws {
        let trainer = try Trainer(config: try Self.config("{terminate_on_nan: {action: stop}}"))
        let error = #expect(throws: NonFiniteLossError.self) { try trainer.fit() }
        let stepsPerEpoch = trainer.stepsPerEpoch
        #expect(error?.epoch == 2 && error!.step >= stepsPerEpoch)
        #expect(error?.description.hasPrefix("training stopped: non-finite loss or gradients at step \(error!.step) (epoch 2, batch") == true)
        let weights = trainer.parameters.snapshotParameters()
        #expect(weights.allSatisfy { $0.isFinite })
    }

    @Test func rollbackRetriesFromTheLastCheckpointWithALowerRate() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try TrainingRun(config: try Self.config("{terminate_on_nan: {action: rollback, lr_factor: 0.000001, max_rollbacks: 3}}"),
                                  runDirectory: folder.url.appendingPathComponent("run").path)
        let summary = try run.run()
        #expect(summary.epochsRun == 3)
        #expect(run.trainer.nonFinite?.state.rollbacks == 2)
        #expect(summary.final["val_accuracy"]! > 0.3)
    }

    @Test func rollbacksAreLimited() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try TrainingRun(config: try Self.config("{terminate_on_nan: {action: rollback, lr_factor: 0.5, max_rollbacks: 2}}"),
                                  runDirectory: folder.url.appendingPathComponent("run").path)
        #expect(throws: NonFiniteLossError.self) { _ = try run.run() }
        #expect(run.trainer.nonFinite?.state.rollbacks == 2)
    }
}
