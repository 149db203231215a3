import FlockComm
import FlockNN
import FlockParallel
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Graph models from YAML trained end to end: data parallel, losses over named outputs,
/// and the strategies that cannot split a graph.
@Suite struct GraphTrainingTests {
    /// A small VAE on the digits: the sampling layer's ε is keyed by (seed, step, sample).
    static func vae(_ overrides: [String] = []) throws -> TrainingConfig {
        let yaml = """
            seed: 3
            epochs: 1
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 48}
            model:
              inputs: [{name: image}]
              nodes:
                - {name: encoder, inputs: [image], layers: [{type: dense, units: 24, activation: tanh}, {type: dense, units: 8}]}
                - {name: code, inputs: [encoder], layers: [{type: sampling, kl_weight: 0.5}]}
                - {name: decoder, inputs: [code], layers: [{type: dense, units: 24, activation: tanh}, {type: dense, units: 64}]}
              outputs: [decoder, code]
            loss: {terms: [{name: mse, output: decoder, target: image}]}
            optimizer: {name: adam, lr: 0.003}
            """
        return try ConfigLoader.decode(yaml: yaml, overrides: overrides, baseDirectory: "/")
    }

    /// The sampling layer's ε and the denoiser's corruption are keyed by (seed, step,
    /// sample): two ranks train the model one rank trains.
    @Test(arguments: ["vae-digits.yaml", "autoencoder-digits.yaml"])
    func theGraphExamplesOnTwoRanksEqualOneRankAndReportTheLossOverBoth(example: String) throws {
        try Self.expectTwoRanksEqualOne(try LossTermsTests.example(example, ["epochs=1"]))
    }

    /// Trains `config` on one rank and on two: the parameters agree to 1e-5 (relative), moved
    /// more than `trained`, and both report the one-rank loss.
    /// Trains `config` on one rank and on two: the same weights (1e-5), and each of
    /// `metrics` reported as one rank reports it (the mean over every sample of both
    /// ranks), within 1e-5 of max(|value|, `scaleFloor`). Returns the one-rank summary.
    @discardableResult
    static func expectTwoRanksEqualOne(_ config: TrainingConfig, trained: Double = 1e-2,
                                       metrics: [String] = ["loss"], scaleFloor: Double = 0) throws -> TrainingSummary {
        let single = try Trainer(config: config)
        let initial = single.parameters.snapshotParameters()
        let summary = try single.fit()
        let one = single.parameters.snapshotParameters()
        let two = try LocalCommunicator.run(ranks: 2, deadline: 120) { comm -> ([Float], [String: Double]) in
            let trainer = try Trainer(config: config, communicator: comm)
            let final = try trainer.fit().final
            return (trainer.parameters.snapshotParameters(), final)
        }
        #expect(two[0].0 == two[1].0)
        let difference = DataParallelTests.relativeDifference(two[0].0, one)
        #expect(difference < 1e-5, "relative difference \(difference)")
        #expect(DataParallelTests.relativeDifference(one, initial) > trained, "nothing trained")
        for name in metrics {
            let expected = summary.final[name]!
            #expect(abs(two[0].1[name]! - expected) < 1e-5 * max(abs(expected), scaleFloor),
                    "\(name): two ranks report \(two[0].1[name]!), one rank \(expected)")
            #expect(two[1].1[name] == two[0].1[name])
        }
        return summary
    }

    @Test func theKLTermIsPartOfTheReportedLoss() throws {
        let without = try Trainer(config: try Self.vae(["model.nodes[1].layers[0].kl_weight=0"])).evaluateValidation().metrics
        let with = try Trainer(config: try Self.vae()).evaluateValidation().metrics
        #expect(with["val_loss"]! > without["val_loss"]! + 1e-4, "with KL \(with["val_loss"]!), without \(without["val_loss"]!)")
    }

    /// Binary cross-entropy against the min-max pixels (a Bernoulli VAE): the loss is the
    /// formula's mean over every pixel of the sigmoid outputs, and the output is read as
    /// values (mse as its metric, one row of 64 per prediction), not as binary classes.
    @Test func binaryCrossEntropyAgainstAnInputReadsValues() throws {
        let trainer = try Trainer(config: try Self.vae([
            "data.normalization=minmax", "model.nodes[1].layers[0].kl_weight=0", "model.nodes[2].layers[1].activation=sigmoid",
            "loss={terms: [{name: binary_cross_entropy, from_logits: false, output: decoder, target: image}]}"]))
        let rows = try trainer.data.training.batch(Array(0..<5))
        let tape = Tape(parameters: trainer.parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        let p = trainer.model.forwardOutputs(tape.constant(rows.features), context: &context)["decoder"]!.value.scalars
        let t = rows.features.scalars
        // By hand: −mean(t·log p + (1 − t)·log(1 − p)).
        let expected = -zip(p, t).map { p, t in Double(t) * log(Double(p)) + Double(1 - t) * log(Double(1 - p)) }.reduce(0, +) / Double(p.count)
        let loss = trainer.loss(["decoder": tape.constant(Tensor(shape: [5, 64], scalars: p))], target: rows.targets,
                                inputs: trainer.model.inputTensors(rows.features, readBy: trainer.loss)).value.scalar
        #expect(abs(Double(loss) - expected) < 1e-5 * expected, "loss \(loss), by hand \(expected)")
        let summary = try trainer.fit()
        #expect(summary.final["mse"] != nil && summary.final["accuracy"] == nil, "\(summary.final)")
        #expect(trainer.loss.reading == .values)
    }

    @Test func pipelineParallelismRefusesAGraphNamingTheNode() throws {
        var config = try Self.vae()
        config.graph!.nodes.append(GraphNodeConfig(name: "both", inputs: ["decoder", "image"], op: .add))
        config.graph!.outputs = ["both"]
        config.loss = LossConfig([LossTermConfig(MeanSquaredErrorLoss(), target: .input("image"), output: "both")])
        config.parallel.pipeline = 2
        let refused = config
        var error: (any Error)?
        do {
            _ = try LocalCommunicator.run(ranks: 2, deadline: 30) { comm in _ = try Trainer(config: refused, communicator: comm); return 0 }
        } catch let thrown { error = thrown }
        #expect("\(error.map { "\($0)" } ?? "no error")".contains("model node 'both' cannot be split (it merges decoder, image)"),
                "\(String(describing: error))")
    }

    /// A layer list with a sampling layer (its KL term added on a stage's tape) is refused
    /// under a pipeline instead of training without the term.
    @Test func pipelineParallelismRefusesALayerThatAddsALossTerm() throws {
        let config = try ConfigLoader.decode(yaml: """
            seed: 1
            epochs: 1
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 32}
            model:
              - {type: dense, units: 8}
              - {type: sampling, kl_weight: 1}
              - {type: dense, units: 10}
            parallel: {pipeline: 2}
            """, baseDirectory: "/")
        var error: (any Error)?
        do {
            _ = try LocalCommunicator.run(ranks: 2, deadline: 30) { comm in _ = try Trainer(config: config, communicator: comm); return 0 }
        } catch let thrown { error = thrown }
        #expect("\(error.map { "\($0)" } ?? "no error")".contains("layers.1 adds its own loss term"), "\(String(describing: error))")
    }

    @Test func lossTermsNameOutputsAndTargetsTheModelHas() throws {
        func message(_ term: String) -> String {
            do { _ = try Self.vae(["loss=\(term)"]); return "no error" } catch { return "\(error)" }
        }
        #expect(message("{name: mse, output: decoder, target: imag}")
                == "loss.target: unknown value 'imag' (expected a number or one of: targets, features, image)")
        #expect(message("{name: mse, output: recon, target: image}")
                == "loss.output: unknown output 'recon' (expected one of: decoder, code)")
        #expect(message("{name: cross_entropy, output: decoder, target: image}")
                == "loss.target: loss 'cross_entropy' reads class labels; a term on image must compare values (mse, mae, huber, binary_cross_entropy)")
    }

    @Test func aGraphConfigSurvivesAnEncodeDecodeRoundTrip() throws {
        let config = try Self.vae()
        let yaml = try ConfigLoader.yaml(of: config)
        #expect(try ConfigLoader.decode(yaml: yaml, baseDirectory: "/") == config)
        #expect(yaml.contains("shares") == false && yaml.contains("nodes:"))
    }

    @Test func generateDecodesPriorDrawsThroughTheDecoderInTheDataUnits() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try Self.vae()
        let run = folder.url.appendingPathComponent("vae")
        _ = try TrainingRun(config: config, runDirectory: run.path).run()
        let predictor = try Predictor(path: run.path)
        let samples = try predictor.generate(samples: 5, seed: 4)
        #expect(samples.shape == [5, 64])
        #expect(try predictor.generate(samples: 5, seed: 4) == samples)
        #expect(try predictor.generate(samples: 5, seed: 5) != samples)
        // By hand: z ~ N(0, 1) from the seed, through the decoder's layers, then the
        // normalization undone.
        var generator = RandomGenerator(seed: 4)
        let z = Tensor.normal(shape: [5, 4], using: &generator)   // the code: half the encoder's 8 outputs
        let tape = Tape(parameters: predictor.model.parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: generator)
        let decoded = predictor.model.graph!.blocks["decoder"]!.forward(tape.constant(z), context: &context).value
        #expect(predictor.preprocessing.normalizer.inverse(decoded) == samples)
        // Pixels come back in the data's units (0…16), not standardized ones.
        #expect(samples.scalars.max()! > 4)
        let csv = predictor.generatedCSV(samples)
        #expect(csv.hasPrefix("p0,p1,") && csv.split(separator: "\n").count == 6)
        #expect(throws: ConfigError.self) { try predictor.generate(samples: 2, latent: "nowhere") }
    }

    /// `temperature: T` draws z ~ N(0, T²): by hand, the seed's N(0, 1) draws times T
    /// through the decoder; T ≤ 0 is an error naming the option, from the command too.
    @Test func temperatureScalesThePriorsDraws() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = folder.url.appendingPathComponent("vae")
        _ = try TrainingRun(config: try Self.vae(), runDirectory: run.path).run()
        let predictor = try Predictor(path: run.path)
        let samples = try predictor.generate(samples: 5, seed: 4, temperature: 0.5)
        var generator = RandomGenerator(seed: 4)
        let z = Tensor.normal(shape: [5, 4], using: &generator).map { $0 * 0.5 }
        let tape = Tape(parameters: predictor.model.parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: generator)
        let decoded = predictor.model.graph!.blocks["decoder"]!.forward(tape.constant(z), context: &context).value
        #expect(predictor.preprocessing.normalizer.inverse(decoded) == samples)
        #expect(try predictor.generate(samples: 5, seed: 4) != samples)
        #expect(throws: ConfigError(path: "temperature", "expected a number > 0, got 0.0")) {
            try predictor.generate(samples: 2, temperature: 0)
        }
        let refused = try ChildProcess.flock(["generate", run.path, "--temperature=-1"])
        #expect(refused.status != 0 && refused.standardError.contains("temperature: expected a number > 0, got -1.0"), "\(refused.output)")
    }

    @Test func theGenerateCommandWritesCSVThatPredictReadsBack() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = folder.url.appendingPathComponent("vae")
        _ = try TrainingRun(config: try Self.vae(), runDirectory: run.path).run()
        let out = folder.url.appendingPathComponent("samples.csv")
        let generated = try ChildProcess.flock(["generate", run.path, "--samples", "7", "--output", out.path])
        #expect(generated.status == 0, "\(generated.standardError)")
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 8 && lines[0].hasPrefix("p0,p1,") && lines[1].split(separator: ",").count == 64)
        let predicted = try ChildProcess.flock(["predict", run.path, "--data", out.path])
        #expect(predicted.status == 0, "\(predicted.standardError)")
        // Another named output: the codes, four values a row.
        let codes = try ChildProcess.flock(["predict", run.path, "--data", out.path, "--model-output", "code"])
        let firstCode = codes.standardOutput.split(separator: "\n").dropFirst().first.map { $0.split(separator: " ").count }
        #expect(codes.status == 0 && firstCode == 4, "\(codes.output)")
        let noSuchOutput = try ChildProcess.flock(["predict", run.path, "--data", out.path, "--model-output", "encoder"])
        #expect(noSuchOutput.standardError.contains("output: unknown output 'encoder' (expected one of: decoder, code)"), "\(noSuchOutput.output)")
        let unknown = try ChildProcess.flock(["generate", run.path, "--latent", "nowhere"])
        #expect(unknown.status != 0 && unknown.standardError.contains("latent: unknown node 'nowhere' (expected one of: encoder, code, decoder)"),
                "\(unknown.standardError)")
    }

    @Test func aResumedVAEEndsBitForBitAsAnUninterruptedOne() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let whole = folder.url.appendingPathComponent("whole"), split = folder.url.appendingPathComponent("split")
        _ = try TrainingRun(config: try Self.vae(["epochs=3"]), runDirectory: whole.path).run()
        _ = try TrainingRun(config: try Self.vae(["epochs=2"]), runDirectory: split.path).run()
        _ = try TrainingRun(config: try Self.vae(["epochs=3"]), runDirectory: split.path, resume: true).run()
        func last(_ run: URL) throws -> [Float] {
            try Predictor(path: run.appendingPathComponent("checkpoints/last").path).model.parameters.snapshotParameters()
        }
        let uninterrupted = try last(whole)
        #expect(try last(split) == uninterrupted)
        #expect(try Predictor(path: whole.appendingPathComponent("checkpoints/last").path).model.parameters.slots.map(\.name).first
                == "encoder.0.weight")
    }
}
