import FlockComm
import FlockNN
import FlockParallel
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// GAN configs end to end: phases that run every k-th step, weight clipping, a
/// conditional generator's one-hot label input, `generate --condition`, and the example
/// on two ranks.
@Suite struct GANTrainingTests {
    /// A small conditional GAN on the digits: `critic` on real images, `fake_score` on
    /// generated ones (the same weights), the generator's phase every second step.
    static func gan(_ overrides: [String] = []) throws -> TrainingConfig {
        let yaml = ganYAML() + """

            phases:
              - name: critic
                parameters: [critic]
                loss: {terms: [{name: binary_cross_entropy, output: critic, target: 1}, {name: binary_cross_entropy, output: fake_score, target: 0}]}
              - {name: generator, parameters: [generator], every: 2, optimizer: {name: adam, lr: 0.001, beta1: 0.5}}
            """
        return try ConfigLoader.decode(yaml: yaml, overrides: overrides, baseDirectory: "/")
    }

    /// The GAN's config without its phases (`epochs: nil` leaves the field out).
    static func ganYAML(epochs: Int? = 1) -> String {
        """
            seed: 5
            \(epochs.map { "epochs: \($0)" } ?? "")
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 32, normalization: minmax}
            model:
              inputs: [{name: image, shape: [64]}, {name: digit, from: labels, shape: [10]}]
              nodes:
                - {name: z, inputs: [digit], layers: [{type: latent_noise, units: 6}]}
                - {name: generator, inputs: [z, digit], op: concatenate, layers: [{type: dense, units: 16, activation: relu}, {type: dense, units: 64, activation: sigmoid}]}
                - {name: critic, inputs: [image, digit], op: concatenate, layers: [{type: dense, units: 16, activation: leaky_relu}, {type: dense, units: 1}]}
                - {name: fake_score, inputs: [generator, digit], op: concatenate, shares: critic}
              outputs: [generator, critic, fake_score]
            loss: {terms: [{name: binary_cross_entropy, output: fake_score, target: 1}]}
            optimizer: {name: adam, lr: 0.002, beta1: 0.5}
            """
    }

    static func moved(_ trainer: Trainer, _ before: [String: [Float]], prefix: String) -> Bool {
        let store = trainer.parameters
        return store.slots.filter { $0.name.hasPrefix(prefix) }.contains { store.value(of: $0).scalars != before[$0.name]! }
    }

    /// With `every: 3` the generator updates on steps 2, 5, …: after two steps it has not
    /// moved, after three it has once, and the critic once per step.
    @Test func aPhaseWithEveryKRunsOnTheLastOfEachKSteps() throws {
        for (batch, steps) in [(720, 2), (480, 3), (240, 6)] {
            let trainer = try Trainer(config: try Self.gan(["phases[1].every=3", "data.batch_size=\(batch)"]))
            let store = trainer.parameters
            let before = Dictionary(uniqueKeysWithValues: store.slots.map { ($0.name, store.value(of: $0).scalars) })
            _ = try trainer.fit()
            #expect(trainer.phaseUpdates[0].update.optimizer.stepCount == steps)
            #expect(trainer.phaseUpdates[1].update.optimizer.stepCount == steps / 3, "\(steps) steps")
            #expect(Self.moved(trainer, before, prefix: "critic."))
            #expect(Self.moved(trainer, before, prefix: "generator.") == (steps >= 3), "\(steps) steps")
        }
    }

    @Test func clipWeightsKeepsThePhasesParametersInTheBox() throws {
        let clipped = try Trainer(config: try Self.gan(["phases[0].clip_weights=0.05", "epochs=2"]))
        _ = try clipped.fit()
        let free = try Trainer(config: try Self.gan(["epochs=2"]))
        _ = try free.fit()
        func largest(_ trainer: Trainer, _ prefix: String) -> Float {
            trainer.parameters.slots.filter { $0.name.hasPrefix(prefix) }.map { trainer.parameters.value(of: $0).scalars.map(abs).max()! }.max()!
        }
        #expect(largest(clipped, "critic.") <= 0.05)
        #expect(largest(free, "critic.") > 0.05)
        #expect(largest(clipped, "generator.") > 0.05, "the generator's phase does not clip")
    }

    /// A WGAN: the critic's Wasserstein loss with clipped weights every step, the
    /// generator's every fifth; the critic's phase loss is E[D(fake)] − E[D(real)].
    @Test func aWassersteinGANTrainsItsClippedCriticAgainstItsGenerator() throws {
        let config = try Self.gan([
            "loss={terms: [{name: wasserstein, output: fake_score, target: 1}]}",
            """
            phases=[{name: critic, parameters: [critic], clip_weights: 0.02, optimizer: {name: rmsprop, lr: 0.0005},
                     loss: {terms: [{name: wasserstein, output: critic, target: 1}, {name: wasserstein, output: fake_score, target: -1}]}},
                    {name: generator, parameters: [generator], every: 5, optimizer: {name: rmsprop, lr: 0.0005}}]
            """])
        let trainer = try Trainer(config: config)
        let summary = try trainer.fit()
        #expect(trainer.phaseUpdates[1].update.optimizer.stepCount == 9, "45 steps, the generator every fifth")
        let critic = trainer.parameters.slots.filter { $0.name.hasPrefix("critic.") }
        #expect(critic.allSatisfy { trainer.parameters.value(of: $0).scalars.allSatisfy { abs($0) <= 0.02 } })
        // The critic's loss −E[D(real)] + E[D(fake)] is finite and its generator's −E[D(fake)].
        #expect(summary.final["loss_critic"]!.isFinite && summary.final["loss_generator"] == summary.final["loss"])
    }

    @Test func badGANFieldsNameTheField() throws {
        func message(_ overrides: [String]) -> String {
            do { _ = try Trainer(config: try Self.gan(overrides)); return "no error" } catch { return "\(error)" }
        }
        #expect(message(["phases[1].every=0"]) == "phases[1].every: expected a positive integer, got 0")
        #expect(message(["phases[0].every=2"]).hasPrefix("phases[0].every: the first phase runs every step"))
        #expect(message(["phases[0].clip_weights=-1"]).hasPrefix("phases[0].clip_weights"))
        #expect(message(["model.inputs[1].shape=[8]"]) == "model.inputs[1].shape: the labels name 10 classes but input 'digit' is a one-hot row of 8")
        #expect(message(["phases[0].loss={name: mse, output: critic, target: image}"])
                == "phases[0].loss.output: loss 'mse' compares output 'critic' (1 values per sample) with 64 image per sample")
        #expect(message(["loss={name: mse, output: generator, target: digit}"])
                == "loss.target: unknown value 'digit' (expected a number or one of: targets, features, image)")
    }

    @Test func generateDrawsEachConditionThroughTheGenerator() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = folder.url.appendingPathComponent("gan")
        _ = try TrainingRun(config: try Self.gan(), runDirectory: run.path).run()
        let predictor = try Predictor(path: run.appendingPathComponent("checkpoints/last").path)
        let sevens = try predictor.generate(samples: 4, seed: 3, condition: "7")
        #expect(sevens.shape == [4, 64])
        #expect(try predictor.generate(samples: 4, seed: 3, condition: "2") != sevens)
        // By hand: [z | one-hot 7] through the generator's layers, then minmax undone.
        var generator = RandomGenerator(seed: 3)
        let z = Tensor.normal(shape: [4, 6], using: &generator)
        var joined: [Float] = []
        for row in 0..<4 { joined += z.scalars[(row * 6)..<(row * 6 + 6)] + (0..<10).map { $0 == 7 ? 1 : 0 } }
        let tape = Tape(parameters: predictor.model.parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: generator)
        let decoded = predictor.model.graph!.blocks["generator"]!.forward(tape.constant(Tensor(shape: [4, 16], scalars: joined)), context: &context).value
        #expect(predictor.preprocessing.normalizer.inverse(decoded) == sevens)
        #expect(throws: ConfigError(path: "condition", "unknown class '10' (expected 0 to 9)")) { try predictor.generate(samples: 1, condition: "10") }
        #expect(throws: ConfigError.self) { try predictor.generate(samples: 1) }
        let out = folder.url.appendingPathComponent("sevens.csv")
        let command = try ChildProcess.flock(["generate", run.path, "--samples", "3", "--condition", "7", "--output", out.path])
        #expect(command.status == 0, "\(command.standardError)")
        #expect(try String(contentsOf: out, encoding: .utf8).split(separator: "\n").count == 4)
    }

    /// The example, its generator every second step so that one phase sits out some steps
    /// (its gradient buckets must still all be reduced): two ranks equal one, and every
    /// reported loss is the mean over both ranks' samples.
    @Test func theGANExampleOnTwoRanksEqualsOneRankAndReportsTheLossOverBoth() throws {
        let config = try LossTermsTests.example("gan-digits.yaml", ["epochs=1", "phases[1].every=2"])
        try GraphTrainingTests.expectTwoRanksEqualOne(config, metrics: ["loss", "loss_discriminator", "loss_generator", "accuracy"],
                                                      scaleFloor: 1)
    }
}
