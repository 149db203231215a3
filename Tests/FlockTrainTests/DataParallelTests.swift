import FlockComm
import FlockNN
import FlockParallel
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// N data-parallel ranks against one rank on the same global batches.
@Suite struct DataParallelTests {
    static let digits = ChildProcess.digitsCSV

    /// Digits, no dropout (masks differ per rank by design), batch 48: 30 steps in an
    /// epoch, the last one short (45 samples), so uneven slices are exercised too.
    static func config(_ overrides: [String] = []) throws -> TrainingConfig {
        let yaml = """
            seed: 5
            epochs: 1
            data: {source: \(digits), label_column: label, batch_size: 48}
            model:
              - {type: dense, units: 32, activation: tanh}
              - {type: dense, units: 10}
            optimizer: {name: momentum, lr: 0.05}
            """
        return try ConfigLoader.decode(yaml: yaml, overrides: overrides, baseDirectory: "/")
    }

    static func oneRank(_ config: TrainingConfig) throws -> [Float] {
        let trainer = try Trainer(config: config)
        _ = try trainer.fit()
        return trainer.parameters.snapshotParameters()
    }

    /// Every rank's final parameters.
    static func ranks(_ count: Int, _ config: TrainingConfig) throws -> [[Float]] {
        try LocalCommunicator.run(ranks: count, deadline: 60) { comm in
            let trainer = try Trainer(config: config, communicator: comm)
            _ = try trainer.fit()
            return trainer.parameters.snapshotParameters()
        }
    }

    /// ‖a − b‖ / ‖b‖.
    static func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
        var difference = 0.0, norm = 0.0
        for (x, y) in zip(a, b) { difference += Double(x - y) * Double(x - y); norm += Double(y) * Double(y) }
        return (difference / norm).squareRoot()
    }

    @Test(arguments: [2, 3, 4])
    func nRanksEqualOneRankOnTheGlobalBatch(count: Int) throws {
        let config = try Self.config()
        let reference = try Self.oneRank(config)
        let results = try Self.ranks(count, config)
        for rank in 0..<count {
            #expect(results[rank] == results[0], "rank \(rank) diverged from rank 0")
        }
        let difference = Self.relativeDifference(results[0], reference)
        #expect(difference < 1e-5, "relative difference \(difference)")
        // The runs must have trained: parameters moved from their initial values.
        let initial = try Trainer(config: config).parameters.snapshotParameters()
        #expect(Self.relativeDifference(reference, initial) > 1e-2)
    }

    /// Each rank's final parameters, its bucket count and how many buckets of the last
    /// step backward started, from a `TrainingRun` of `config`.
    static func overlapRun(_ config: TrainingConfig) throws -> [(parameters: [Float], buckets: Int, startedDuringBackward: Int)] {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = folder.url.appendingPathComponent("run").path, store = folder.url.appendingPathComponent("s.sqlite").path
        return try LocalCommunicator.run(ranks: 2, deadline: 60) { comm in
            let training = try TrainingRun(config: config, runDirectory: run, communicator: comm, storePath: store)
            _ = try training.run()
            guard let parallel = (training.trainer.parts.sync as? AllreduceGradientSync)?.dataParallel else { throw NotDataParallel() }
            return (training.trainer.parameters.snapshotParameters(), parallel.buckets.buckets.count,
                    parallel.bucketsStartedDuringBackward)
        }
    }

    struct NotDataParallel: Error {}

    @Test func bucketedOverlappedEqualsOneAllreduceAfterBackward() throws {
        let bucketed = try Self.overlapRun(try Self.config(["parallel.bucket_mb=0.001", "parallel.overlap=true"]))
        let single = try Self.overlapRun(try Self.config(["parallel.bucket_mb=1000", "parallel.overlap=false"]))
        #expect(bucketed[0].parameters == single[0].parameters)
        // The overlap happened: every bucket (more than one) started while backward ran,
        // on every rank; without overlap none did.
        for rank in 0..<2 {
            #expect(bucketed[rank].buckets >= 2)
            #expect(bucketed[rank].startedDuringBackward == bucketed[rank].buckets)
            #expect(single[rank].startedDuringBackward == 0)
        }
    }

    @Test func accumulationEqualsOneStepOnTheLargerBatch() throws {
        // 2 micro-batches of 24 per step, against batches of 48: the same 30 steps.
        let accumulated = try Self.oneRank(try Self.config(["data.batch_size=24", "parallel.accumulate=2"]))
        let large = try Self.oneRank(try Self.config())
        #expect(Self.relativeDifference(accumulated, large) < 1e-5)
        let accumulatedTwoRanks = try Self.ranks(2, try Self.config(["data.batch_size=24", "parallel.accumulate=2"]))
        #expect(Self.relativeDifference(accumulatedTwoRanks[0], large) < 1e-5)
    }

    @Test func validationMetricsCoverTheWholeSplit() throws {
        let config = try Self.config()
        let one = try Trainer(config: config).fit()
        let three = try LocalCommunicator.run(ranks: 3, deadline: 60) { comm in
            try Trainer(config: config, communicator: comm).fit()
        }
        #expect(three.allSatisfy { $0.worldSize == 3 })
        let a = one.final["val_accuracy"]!, b = three[0].final["val_accuracy"]!
        // 360 validation samples: accuracies agree to the sample.
        #expect(abs(a - b) < 0.5 / 360, "one rank \(a), three ranks \(b)")
        #expect(abs(one.final["val_loss"]! - three[0].final["val_loss"]!) < 1e-4)
    }

    @Test func aRankWithAnotherModelFailsAtStartUp() throws {
        let config = try Self.config()
        let other = try Self.config(["model[0].units=16"])
        let error = #expect(throws: (any Error).self) {
            _ = try LocalCommunicator.run(ranks: 2, deadline: 30) { comm in
                _ = try Trainer(config: comm.rank == 1 ? other : config, communicator: comm)
                return 0
            }
        }
        // The start-up comparison's error, not a collective timing out at the 30 s deadline.
        #expect(!(error is CommunicatorError), "\(String(describing: error))")
        #expect("\(error!)" == "ranks hold different models: parameter layers.0.weight has shape [32, 64] on rank 0 but [16, 64] on rank 1")
    }

    @Test func aGlobalBatchThatDoesNotSplitIsAConfigError() throws {
        let error = #expect(throws: ConfigError.self) {
            _ = try LocalCommunicator.run(ranks: 5, deadline: 30) { comm in _ = try Trainer(config: try Self.config(), communicator: comm); return 0 }
        }
        #expect(error?.description == "data.batch_size: the global batch of 48 does not split evenly over 5 ranks")
    }
}
