import FlockComm
import FlockNN
import FlockTestSupport
import Testing
@testable import FlockTrain

/// The `parallel:` section's model-parallel fields: decoded, written back, and bad values
/// named by their field.
@Suite struct ParallelConfigTests {
    let base = """
    data: {source: data.csv, batch_size: 16}
    model:
      - {type: dense, units: 32, activation: relu}
      - {type: dense, units: 4}
    """

    func decode(_ overrides: [String]) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: base, overrides: overrides, baseDirectory: "/data")
    }

    func message(_ overrides: [String]) -> String {
        do {
            let config = try decode(overrides)
            try config.validate()
            return "no error"
        } catch { return "\(error)" }
    }

    @Test func modelParallelFieldsRoundTrip() throws {
        let config = try decode(["parallel.pipeline=2", "parallel.tensor=3", "parallel.schedule=zb-h1",
                                 "parallel.micro_batches=8", "parallel.partition=[1]"])
        #expect(config.parallel.pipeline == 2 && config.parallel.tensor == 3 && config.parallel.microBatches == 8)
        #expect(config.parallel.schedule == .zeroBubbleH1 && config.parallel.partition == .boundaries([1]))
        let written = try ConfigLoader.yaml(of: config)
        #expect(try ConfigLoader.decode(yaml: written, baseDirectory: "/") .parallel == config.parallel)
    }

    @Test func aDataParallelConfigWritesNoModelParallelFields() throws {
        // So the configs (and checkpoints) written before these fields existed read the same.
        let written = try ConfigLoader.yaml(of: try decode([]))
        #expect(!written.contains("pipeline") && !written.contains("micro_batches"), "\(written)")
    }

    @Test func badValuesNameTheirField() {
        #expect(message(["parallel.schedule=zb-h2"]).contains("parallel.schedule: unknown schedule 'zb-h2' (expected one of: gpipe, 1f1b, zb-h1)"))
        #expect(message(["parallel.partition=balanced"]).contains("parallel.partition: expected parameters, time or a list of stage boundaries"))
        #expect(message(["parallel.pipeline=0"]).contains("parallel.pipeline"))
        #expect(message(["parallel.micro_batches=-2"]).contains("parallel.micro_batches"))
        #expect(message(["parallel.tensor=100000"]).contains("parallel.tensor"))
    }

    @Test func aLayoutTheRanksCannotHoldIsAConfigError() throws {
        let config = try decode(["parallel.pipeline=2"])
        let oneRank = #expect(throws: ConfigError.self) { _ = try config.makeStepParts(communicator: nil) }
        #expect(oneRank?.description.contains("parallel: 2 pipeline stages × 1 tensor slice need at least 2 ranks") == true,
                "\(String(describing: oneRank))")
        let messages = try LocalCommunicator.run(ranks: 3, deadline: 30) { communicator -> String in
            do { _ = try config.makeStepParts(communicator: communicator); return "no error" } catch { return "\(error)" }
        }
        #expect(messages.allSatisfy { $0.contains("parallel: 3 ranks do not split into 2 pipeline stages × 1 tensor slice") }, "\(messages)")
    }

    @Test func aBoundaryOutsideTheModelNamesItsEntry() throws {
        let config = try decode(["parallel.pipeline=2", "parallel.partition=[2]"])
        let messages = try LocalCommunicator.run(ranks: 2, deadline: 30) { communicator -> String in
            do {
                let strategy = try config.makeStepParts(communicator: communicator)
                let model = try config.makeModel(inputShape: [5])
                try strategy.prepare(model: model, configHash: 1)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(messages.allSatisfy { $0.contains("parallel.partition[0]: stage 1 must start after layer 0 and before layer 2") }, "\(messages)")
    }
}
