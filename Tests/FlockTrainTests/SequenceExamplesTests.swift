import FlockComm
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// The sequence examples train on a reduced budget; the Transformer at two data-parallel
/// ranks equals one rank; a bag of tokens cannot solve the token-order task; sequence
/// data configs.
@Suite struct SequenceExamplesTests {
    static func example(_ name: String, _ overrides: [String]) throws -> TrainingConfig {
        try ConfigLoader.load(path: ChildProcess.repositoryRoot.appendingPathComponent("examples/\(name)").path,
                              overrides: overrides)
    }

    @Test func theLSTMTellsWaveformsApart() throws {
        let summary = try Trainer(config: try Self.example("sequence-lstm.yaml", ["epochs=5"])).fit()
        #expect(summary.best["val_accuracy"]! >= 0.75, "val_accuracy \(summary.best["val_accuracy"]!)")
    }

    @Test func theTinyTransformerLearnsTokenOrderAndABagOfTokensCannot() throws {
        let transformer = try Trainer(config: try Self.example("transformer-tiny.yaml", ["epochs=3"])).fit()
        #expect(transformer.final["val_accuracy"]! >= 0.95, "val_accuracy \(transformer.final["val_accuracy"]!)")
        let bag = try Trainer(config: try Self.example("token-order-bag.yaml", ["epochs=3"])).fit()
        #expect(bag.best["val_accuracy"]! < 0.6, "bag-of-tokens val_accuracy \(bag.best["val_accuracy"]!)")
    }

    @Test func theTransformerAtTwoRanksEqualsOneRank() throws {
        // 600 training samples, one epoch: 19 steps of a 32-sample global batch. Momentum
        // SGD rather than the example's Adam: Adam's g/√v turns the last-bit differences of
        // a sum taken in another order into whole steps for near-zero gradients.
        let config = try Self.example("transformer-tiny.yaml", ["epochs=1", "data.validation_split=0.8",
                                                                "optimizer.name=momentum", "optimizer.lr=0.05"])
        let difference = try Self.twoRanksAgainstOne(config)
        #expect(difference < 1e-4, "relative difference \(difference)")
    }

    /// Trains `config` on one rank and on two, checks that the two ranks agree and that
    /// training moved the parameters, and returns the relative difference of one rank's
    /// parameters from two ranks'.
    static func twoRanksAgainstOne(_ config: TrainingConfig) throws -> Double {
        let trainer = try Trainer(config: config)
        let initial = trainer.parameters.snapshotParameters()
        _ = try trainer.fit()
        let one = trainer.parameters.snapshotParameters()
        let many = try LocalCommunicator.run(ranks: 2, deadline: 120) { comm in
            let trainer = try Trainer(config: config, communicator: comm)
            _ = try trainer.fit()
            return trainer.parameters.snapshotParameters()
        }
        #expect(many[0] == many[1], "the two ranks diverged")
        #expect(DataParallelTests.relativeDifference(one, initial) > 1e-2, "training moved the parameters")
        return DataParallelTests.relativeDifference(many[0], one)
    }

    @Test func theWaveNetStackTellsWaveformsApart() throws {
        let summary = try Trainer(config: try Self.example("wavenet-waveforms.yaml", ["epochs=3"])).fit()
        #expect(summary.best["val_accuracy"]! >= 0.9, "val_accuracy \(summary.best["val_accuracy"]!)")
    }

    /// The WaveNet example as configured (Adam) for 10 steps: 300 training samples, a
    /// 32-sample global batch.
    @Test func theWaveNetAtTwoRanksEqualsOneRank() throws {
        let config = try Self.example("wavenet-waveforms.yaml", ["epochs=1", "data.validation_split=0.8"])
        let difference = try Self.twoRanksAgainstOne(config)
        #expect(difference < 1e-5, "relative difference \(difference)")
    }

    static func tokensConfig(_ csv: String, sequence: String, extra: String = "") throws -> TrainingConfig {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tokens-\(UUID().uuidString).csv")
        try csv.write(to: file, atomically: true, encoding: .utf8)
        return try ConfigLoader.decode(yaml: """
            data: {source: \(file.path), sequence: \(sequence), validation_split: 0\(extra)}
            model: [{type: embedding, vocabulary: 4, units: 2}, {type: sequence_pool}, {type: dense, units: 2}]
            """, baseDirectory: "/")
    }

    @Test func aSequenceConfigShapesRowsAndChecksTokenIds() throws {
        let good = try Self.tokensConfig("a,b,c,label\n0,3,1,0\n2,2,0,1\n", sequence: "{steps: 3, tokens: 4}")
        let data = try TrainingData(config: good)
        #expect(data.training.featureShape == [3])
        // Ids are not normalized.
        #expect(try data.training.subset(Array(0..<data.training.count)).features.scalars.sorted() == [0, 0, 1, 2, 2, 3])
        let bad = try Self.tokensConfig("a,b,c,label\n0,3,1,0\n2,4,0,1\n", sequence: "{steps: 3, tokens: 4}")
        #expect { _ = try TrainingData(config: bad) } throws: { error in
            "\(error)".hasSuffix("cannot read: line 3, step 1: token id 4.0 is not an integer in 0..<4 (data.sequence.tokens)")
        }
        let wrongLength = try Self.tokensConfig("a,b,c,label\n0,3,1,0\n", sequence: "{steps: 2, features: 2}")
        #expect { _ = try TrainingData(config: wrongLength) } throws: { error in
            "\(error)".hasPrefix("data.sequence: [2, 2] holds 4 values per sample")
        }
        #expect {
            _ = try Self.tokensConfig("a,label\n0,0\n", sequence: "{steps: 1, tokens: 4}", extra: ", shape: [1]")
        } throws: { error in
            "\(error)" == "data.shape: data.sequence sets the shape; give one of them"
        }
    }
}
