import FlockComm
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// A run with augmentation killed mid-epoch and resumed ends byte-identical to an
/// uninterrupted one; N ranks augment as one rank does; bad augment configs name the field.
@Suite(.serialized) struct AugmentationResumeTests {
    /// Conv net on 8×8 digits with flips, crops, noise and mixup; 36 steps an epoch, a checkpoint every 10.
    func writeConfig(_ folder: TemporaryFolder) throws -> String {
        try folder.write("job.yaml", """
            seed: 19
            epochs: 3
            data:
              source: \(ChildProcess.digitsCSV)
              label_column: label
              batch_size: 40
              shape: [1, 8, 8]
              augment: {horizontal_flip: true, crop_padding: 1, noise: 0.05, mixup: 0.2}
            model:
              - {type: conv2d, filters: 4, kernel: 3, activation: relu}
              - {type: flatten}
              - {type: dense, units: 10}
            optimizer: {name: adam, lr: 0.002}
            callbacks: {model_checkpoint: {every_n_steps: 10}}
            """).path
    }

    @Test func killedMidEpochResumesByteIdentical() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        try MidEpochResumeTests().expectKilledMidEpochResumesAsUninterrupted(config: try writeConfig(folder), in: folder)
    }

    @Test func augmentationChangesTrainingAndTwoRanksMatchOne() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try ConfigLoader.load(path: try writeConfig(folder), overrides: ["epochs=1"])
        let plain = try ConfigLoader.load(path: try writeConfig(folder), overrides: ["epochs=1", "data.augment.noise=0",
                                                                                      "data.augment.horizontal_flip=false",
                                                                                      "data.augment.crop_padding=0",
                                                                                      "data.augment.mixup=0"])
        func oneRank(_ config: TrainingConfig) throws -> [Float] {
            let trainer = try Trainer(config: config)
            _ = try trainer.fit()
            return trainer.parameters.snapshotParameters()
        }
        let augmented = try oneRank(config)
        #expect(augmented != (try oneRank(plain)), "augmentation changed nothing")
        let ranks = try LocalCommunicator.run(ranks: 2, deadline: 60) { comm in
            let trainer = try Trainer(config: config, communicator: comm)
            _ = try trainer.fit()
            return trainer.parameters.snapshotParameters()
        }
        let difference = DataParallelTests.relativeDifference(ranks[0], augmented)
        #expect(difference < 1e-5, "relative difference \(difference)")
    }

    @Test func flipsWithoutAnImageShapeNameTheField() throws {
        let yaml = """
            data: {source: \(ChildProcess.digitsCSV), label_column: label, augment: {vertical_flip: true}}
            model: [{type: dense, units: 10}]
            """
        #expect {
            _ = try Trainer(config: try ConfigLoader.decode(yaml: yaml, overrides: [], baseDirectory: "/"))
        } throws: { error in
            "\(error)".hasPrefix("data.augment: flips and crops need image features (channels, height, width)")
        }
        #expect {
            _ = try ConfigLoader.decode(yaml: yaml.replacingOccurrences(of: "vertical_flip: true", with: "crop_padding: -1"),
                                        overrides: [], baseDirectory: "/")
        } throws: { error in
            "\(error)" == "data.augment.crop_padding: expected an integer ≥ 0, got -1"
        }
        #expect {
            _ = try Trainer(config: try ConfigLoader.decode(yaml: yaml.replacingOccurrences(of: "vertical_flip: true", with: "mixup: 0.2")
                                                                .replacingOccurrences(of: "units: 10", with: "units: 1") + "\nloss: mse", overrides: [], baseDirectory: "/"))
        } throws: { error in
            "\(error)" == "data.augment.mixup: mixup needs the cross_entropy loss without class_weights, got loss 'mse'"
        }
    }
}
