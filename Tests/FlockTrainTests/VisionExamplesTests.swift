import FlockComm
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// The convolutional examples train on a reduced budget; image-shaped data configs;
/// synchronized batch normalization at N ranks equals one rank on the global batch.
@Suite struct VisionExamplesTests {
    static func example(_ name: String) -> String {
        ChildProcess.repositoryRoot.appendingPathComponent("examples/\(name)").path
    }

    @Test func theDigitsCNNReachesNinetyEightPercent() throws {
        let config = try ConfigLoader.load(path: Self.example("digits-cnn.yaml"), overrides: ["epochs=8"])
        let summary = try Trainer(config: config).fit()
        #expect(summary.final["val_accuracy"]! >= 0.98, "val_accuracy \(summary.final["val_accuracy"]!)")
    }

    @Test func theResidualBatchNormNetworkTrainsOnOneAndTwoRanks() throws {
        let config = try ConfigLoader.load(path: Self.example("digits-resnet.yaml"), overrides: ["epochs=3"])
        let trainer = try Trainer(config: config)
        let summary = try trainer.fit()
        #expect(summary.final["val_accuracy"]! >= 0.95, "val_accuracy \(summary.final["val_accuracy"]!)")
        // Running statistics moved away from their initial 0 and 1, and are checkpointed state.
        let store = trainer.parameters
        let mean = try #require(store.bufferSlots.first { $0.name == "layers.1.running_mean" })
        #expect(store.value(of: mean).scalars.contains { abs($0) > 1e-3 })

        let states = try LocalCommunicator.run(ranks: 2, deadline: 120) { comm in
            let trainer = try Trainer(config: try ConfigLoader.load(path: Self.example("digits-resnet.yaml"), overrides: ["epochs=1"]),
                                      communicator: comm)
            let summary = try trainer.fit()
            return (trainer.parameters.snapshotState(), summary.final["val_accuracy"] ?? 0)
        }
        #expect(states[0].0 == states[1].0, "the two ranks diverged")
        // Well above chance (0.1): 0.78 with the initial values by parameter path (0.8+ before).
        #expect(states[0].1 >= 0.7, "val_accuracy after one epoch at 2 ranks: \(states[0].1)")
    }

    /// A conv + batch-norm net on 8×8 digits, batch 48, no dropout.
    static func batchNormConfig(synchronized: Bool) throws -> TrainingConfig {
        let yaml = """
            seed: 5
            epochs: 1
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 48, shape: [1, 8, 8]}
            model:
              - {type: conv2d, filters: 4, kernel: 3, stride: 2}
              - {type: batch_norm, synchronized: \(synchronized)}
              - {type: activation, activation: relu}
              - {type: flatten}
              - {type: dense, units: 10}
            optimizer: {name: momentum, lr: 0.05}
            """
        return try ConfigLoader.decode(yaml: yaml, overrides: [], baseDirectory: "/")
    }

    /// Parameters and running statistics after one epoch, on one rank and on `ranks` ranks.
    static func oneAndManyRanks(_ config: TrainingConfig, ranks: Int) throws -> (one: [Float], many: [[Float]]) {
        let trainer = try Trainer(config: config)
        _ = try trainer.fit()
        let many = try LocalCommunicator.run(ranks: ranks, deadline: 60) { comm in
            let trainer = try Trainer(config: config, communicator: comm)
            _ = try trainer.fit()
            return trainer.parameters.snapshotState()
        }
        return (trainer.parameters.snapshotState(), many)
    }

    @Test(arguments: [2, 3])
    func synchronizedBatchNormAtNRanksEqualsOneRank(ranks: Int) throws {
        let synchronized = try Self.oneAndManyRanks(try Self.batchNormConfig(synchronized: true), ranks: ranks)
        for rank in 1..<ranks { #expect(synchronized.many[rank] == synchronized.many[0], "rank \(rank) diverged") }
        let difference = DataParallelTests.relativeDifference(synchronized.many[0], synchronized.one)
        #expect(difference < 1e-4, "relative difference \(difference)")
        // Per-rank statistics differ from the global batch's: the test can tell.
        let local = try Self.oneAndManyRanks(try Self.batchNormConfig(synchronized: false), ranks: ranks)
        let localDifference = DataParallelTests.relativeDifference(local.many[0], local.one)
        #expect(localDifference > 10 * difference, "per-rank \(localDifference) vs synchronized \(difference)")
    }

    @Test func aDataShapeThatDoesNotMatchTheColumnsNamesTheField() throws {
        var config = try Self.batchNormConfig(synchronized: false)
        config.data.shape = [1, 8, 9]
        #expect {
            _ = try Trainer(config: config)
        } throws: { error in
            "\(error)" == "data.shape: [1, 8, 9] holds 72 values per sample but \(ChildProcess.digitsCSV) has 64 features"
        }
        #expect {
            _ = try ConfigLoader.decode(yaml: "data: {source: a.csv, shape: [1, 0, 8]}\nmodel: [{type: dense, units: 2}]",
                                        overrides: [], baseDirectory: "/")
        } throws: { error in
            "\(error)" == "data.shape[1]: expected a positive integer, got 0"
        }
    }
}
