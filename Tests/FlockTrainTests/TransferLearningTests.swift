import FlockNN
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// `init_from`, `trainable: false` and `lr_multiplier`.
@Suite(.serialized) struct TransferLearningTests {
    static func config(_ model: String, epochs: Int = 2, extra: String = "", optimizer: String = "{name: adam, lr: 0.01}") throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 3
            epochs: \(epochs)
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 64}
            model:
            \(model)
            optimizer: \(optimizer)
            \(extra)
            """, baseDirectory: "/")
    }

    static func weights(_ run: URL) throws -> [String: Tensor] {
        try SafeTensors.read(run.appendingPathComponent("model.safetensors"))
    }

    @Test func aFineTunedModelLoadsWhatFitsFreezesWhatIsFrozenAndReportsTheRest() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let base = folder.url.appendingPathComponent("base")
        _ = try TrainingRun(config: try Self.config("""
              - {type: dense, units: 32, activation: relu}
              - {type: dense, units: 10}
            """), runDirectory: base.path).run()
        let tuned = folder.url.appendingPathComponent("tuned")
        let config = try Self.config("""
              - {type: dense, units: 32, activation: relu, trainable: false}
              - {type: dense, units: 16, activation: relu}
              - {type: dense, units: 10}
            """, extra: "init_from: {checkpoint: \(base.path)}")
        let run = try TrainingRun(config: config, runDirectory: tuned.path)
        let report = try #require(run.trainer.initializationReport)
        #expect(report.loaded == ["layers.0.weight", "layers.0.bias"])
        #expect(report.mismatched == ["layers.1.weight [10, 32] in the checkpoint, [16, 32] here", "layers.1.bias [10] in the checkpoint, [16] here"])
        #expect(report.missing == ["layers.2.weight", "layers.2.bias"])
        #expect(report.source.contains("the run's best checkpoint"))
        #expect(report.description.hasSuffix("the optimizer starts fresh (its state, step count and schedule are not taken from the checkpoint)"))
        _ = try run.run()
        let before = try Self.weights(base), after = try Self.weights(tuned)
        // Frozen: exactly the base run's values after two epochs of training.
        #expect(after["layers.0.weight"] == before["layers.0.weight"] && after["layers.0.bias"] == before["layers.0.bias"])
        #expect(try RunResults(directory: tuned).summary().final["val_accuracy"]! > 0.8)
    }

    @Test func excludedTensorsStayFresh() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let base = folder.url.appendingPathComponent("base")
        let layers = """
              - {type: dense, units: 32, activation: relu}
              - {type: dense, units: 10}
            """
        _ = try TrainingRun(config: try Self.config(layers), runDirectory: base.path).run()
        let config = try Self.config(layers, extra: "init_from: {checkpoint: \(base.path), exclude: [\"layers.1.*\"]}")
        let model = try config.makeModel(inputShape: [64])
        let fresh = model.parameters.snapshotState()
        let report = try InitializationReport.initialize(model, from: config.initFrom!)
        #expect(report.loaded == ["layers.0.weight", "layers.0.bias"] && report.excluded == ["layers.1.weight", "layers.1.bias"])
        let head = model.parameters.slot(named: "layers.1.weight")!
        #expect(model.parameters.value(of: head).scalars == Array(fresh[head.range]))
        #expect(InitializationReport.matches("layers.3.block.0.weight", pattern: "layers.3.*.weight"))
        #expect(!InitializationReport.matches("layers.30.weight", pattern: "layers.3.*.bias"))
    }

    @Test func aLearningRateMultiplierScalesTheUpdate() throws {
        // Plain SGD, one step: the layer at ×0.5 moves exactly half as far as at ×1.
        func firstStep(_ multiplier: String) throws -> (before: [Float], after: [Float]) {
            let config = try Self.config("""
                  - {type: dense, units: 8, activation: tanh\(multiplier)}
                  - {type: dense, units: 10}
                """, epochs: 1, optimizer: "{name: sgd, lr: 0.1}")
            let trainer = try Trainer(config: config)
            let slot = trainer.parameters.slot(named: "layers.0.weight")!
            let before = trainer.parameters.value(of: slot).scalars
            var accumulator = trainer.makeAccumulator()
            _ = try trainer.step(batches: 0..<1, order: Array(0..<trainer.data.training.count), learningRate: 0.1, accumulator: &accumulator)
            return (before, trainer.parameters.value(of: slot).scalars)
        }
        let full = try firstStep(""), half = try firstStep(", lr_multiplier: 0.5")
        #expect(full.before == half.before)
        let fullMoves = zip(full.after, full.before).map { $0 - $1 }, halfMoves = zip(half.after, half.before).map { $0 - $1 }
        let worst = zip(halfMoves, fullMoves).map { abs($0 - 0.5 * $1) }.max()!
        #expect(worst <= 1e-6 * (fullMoves.map { abs($0) }.max()! + 1e-3), "largest deviation \(worst)")
        #expect(fullMoves.contains { $0 != 0 })
    }

    @Test func layerTrainingKeysAreCheckedAndWrittenBack() throws {
        let error = #expect(throws: ConfigError.self) { try Self.config("  - {type: dense, units: 10, lr_multiplier: -1}") }
        #expect(error?.description.contains("model[0].lr_multiplier: expected a number in [0, 1000000], got -1") == true, "\(String(describing: error))")
        let config = try Self.config("  - {type: dense, units: 10, trainable: false, lr_multiplier: 0.25}")
        let yaml = try ConfigLoader.yaml(of: config)
        #expect(yaml.contains("trainable: false") && yaml.contains("lr_multiplier: 0.25"), "\(yaml)")
        #expect(try ConfigLoader.decode(yaml: yaml, baseDirectory: "/").model == config.model)
    }
}
