import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// The VAE sampling layer against its formulas, with finite differences, and stop_gradient.
@Suite struct SamplingLayerTests {
    /// (3, 4): three samples of [μ₁ μ₂ | log σ²₁ log σ²₂].
    static let input = Tensor(shape: [3, 4], scalars: [0.3, -0.8, 0.2, -0.5, 1.1, 0.4, -0.9, 0.6, -0.2, 0.05, 0.0, -1.2])
    static let noise = SampleNoise(seed: 5, step: 2, samples: [10, 11, 12])

    /// The layer's output and the loss it added, in training mode with `noise`.
    static func run(_ model: Model, _ x: Tensor, isTraining: Bool = true) -> (output: [Float], added: Float) {
        let tape = Tape(parameters: model.parameters)
        var context = ForwardContext(tape: tape, isTraining: isTraining, generator: RandomGenerator(seed: 1))
        context.sampleNoise = noise
        let output = model.forward(tape.constant(x), context: &context)
        return (output.value.scalars, context.addedLosses.reduce(0) { $0 + $1.value.scalar })
    }

    @Test func theOutputIsMeanPlusDeviationTimesEpsilonAndTheKLTermIsTheClosedForm() throws {
        let model = try Model([.sampling(klWeight: 0.5)], inputShape: [4], seed: 1)
        let (output, added) = Self.run(model, Self.input)
        let epsilon = Self.noise.normal(path: "layers.0", shape: [3, 2]).scalars
        var kl = 0.0
        for row in 0..<3 {
            for j in 0..<2 {
                let mean = Self.input.scalars[row * 4 + j], logVariance = Self.input.scalars[row * 4 + 2 + j]
                let expected = mean + Foundation.exp(logVariance / 2) * epsilon[row * 2 + j]
                #expect(abs(output[row * 2 + j] - expected) < 1e-6)
                kl += 0.5 * Double(mean * mean + Foundation.exp(logVariance) - logVariance - 1)
            }
        }
        #expect(abs(Double(added) - 0.5 * kl / 3) < 1e-6, "KL term \(added), formula \(0.5 * kl / 3)")
        // Inference: the mean, and the same KL term.
        let (mean, evaluated) = Self.run(model, Self.input, isTraining: false)
        #expect(mean == [0.3, -0.8, 1.1, 0.4, -0.2, 0.05])
        #expect(evaluated == added)
    }

    /// In inference on a tape that records no backward, a layer list gives each layer's
    /// values back as the next is made; the KL term the sampling layer added survives that
    /// (validation of a classifier with a sampling layer read an emptied term and trapped).
    @Test func theKLTermSurvivesAnInferenceChain() throws {
        let model = try Model([.sampling(klWeight: 0.5), .sampling(klWeight: 0)], inputShape: [4], seed: 1)
        let recorded = Self.run(model, Self.input, isTraining: false).added
        let tape = Tape(parameters: model.parameters)
        tape.recordsBackward = false
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 1))
        _ = model.forward(tape.constant(Self.input), context: &context)
        #expect(context.addedLosses.map { $0.value.scalars } == [[recorded]])
    }

    /// With `kl_warmup_steps: 8` the term in a trainer's step s is s/8 of the full term
    /// (`noise` is step 2), the full term from step 8 on and outside a trainer's step.
    @Test func theKLWarmupScalesTheTermByTheStep() throws {
        let full = Self.run(try Model([.sampling(klWeight: 0.5)], inputShape: [4], seed: 1), Self.input).added
        let model = try Model([.sampling(klWeight: 0.5, klWarmupSteps: 8)], inputShape: [4], seed: 1)
        #expect(abs(Self.run(model, Self.input).added - full * 2 / 8) < 1e-6)
        let tape = Tape(parameters: model.parameters)
        var context = ForwardContext(tape: tape, isTraining: true, generator: RandomGenerator(seed: 1))
        context.sampleNoise = SampleNoise(seed: 5, step: 30, samples: [10, 11, 12])
        _ = model.forward(tape.constant(Self.input), context: &context)
        #expect(abs(context.addedLosses[0].value.scalar - full) < 1e-6)
        var outside = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 1))
        _ = model.forward(tape.constant(Self.input), context: &outside)
        #expect(abs(outside.addedLosses[0].value.scalar - full) < 1e-6)
    }

    @Test func gradientsOfOutputAndKLMatchFiniteDifferences() throws {
        let model = try Model([.dense(units: 4, activation: .tanh), .sampling(klWeight: 0.7)], inputShape: [4], seed: 3)
        var generator = RandomGenerator(seed: 9)
        let weights = Tensor.uniform(shape: [3, 2], low: -1, high: 1, using: &generator)
        let store = model.parameters
        func objective(_ x: Variable, _ tape: Tape) -> Variable {
            var context = ForwardContext(tape: tape, isTraining: true, generator: RandomGenerator(seed: 1))
            context.sampleNoise = Self.noise
            let z = model.forward(x, context: &context)
            return context.addedLosses.reduce(tape.sum(tape.multiply(z, tape.constant(weights)))) { tape.add($0, $1) }
        }
        func value(_ x: Tensor) -> Float {
            let tape = Tape(parameters: store)
            return objective(tape.constant(x), tape).value.scalar
        }
        store.zeroGradients()
        let tape = Tape(parameters: store)
        let x = tape.leaf(Self.input)
        tape.backward(from: objective(x, tape))
        let analytic = store.withGradients { Array($0) }, inputGradient = x.gradient!.scalars
        let step: Float = 1e-2
        var values = store.snapshotParameters(), worst: Float = 0
        for i in values.indices {
            let original = values[i]
            values[i] = original + step; store.restoreParameters(values); let plus = value(Self.input)
            values[i] = original - step; store.restoreParameters(values); let minus = value(Self.input)
            values[i] = original; store.restoreParameters(values)
            worst = max(worst, abs((plus - minus) / (2 * step) - analytic[i]))
        }
        var probe = Self.input
        for i in 0..<probe.count {
            let original = probe.scalars[i]
            probe.scalars[i] = original + step; let plus = value(probe)
            probe.scalars[i] = original - step; let minus = value(probe)
            probe.scalars[i] = original
            worst = max(worst, abs((plus - minus) / (2 * step) - inputGradient[i]))
        }
        #expect(worst < 2e-3, "largest gradient mismatch \(worst)")
    }

    @Test func noiseIsKeyedBySampleNotByRowOrRank() {
        let whole = Self.noise.normal(path: "enc.1", shape: [3, 2])
        let tail = Self.noise.rows(1..<3).normal(path: "enc.1", shape: [2, 2])
        #expect(Array(whole.scalars[2...]) == tail.scalars)
        #expect(Self.noise.normal(path: "enc.2", shape: [3, 2]) != whole)
        #expect(SampleNoise(seed: 5, step: 3, samples: [10, 11, 12]).normal(path: "enc.1", shape: [3, 2]) != whole)
    }

    @Test func stopGradientPassesValuesAndNoGradient() throws {
        let stopped = try Model([.dense(units: 3, activation: .tanh), .stopGradient, .dense(units: 2)], inputShape: [4], seed: 2)
        let store = stopped.parameters
        store.zeroGradients()
        let tape = Tape(parameters: store)
        var context = ForwardContext(tape: tape, isTraining: true, generator: RandomGenerator(seed: 1))
        let x = tape.leaf(Self.input)
        let y = stopped.forward(x, context: &context)
        tape.backward(from: tape.sum(y))
        #expect(store.gradient(of: store.slot(named: "layers.0.weight")!).scalars.allSatisfy { $0 == 0 })
        #expect(store.gradient(of: store.slot(named: "layers.2.weight")!).scalars.contains { $0 != 0 })
        #expect((x.gradient?.scalars ?? []).allSatisfy { $0 == 0 })
        // Values pass unchanged: the same as the two dense layers run back to back.
        var direct = ForwardContext(tape: Tape(parameters: store), isTraining: true, generator: RandomGenerator(seed: 1))
        let layers = stopped.root.layers
        let reference = layers[2].forward(layers[0].forward(direct.tape.constant(Self.input), context: &direct), context: &direct)
        #expect(reference.value.scalars == y.value.scalars)
    }

    @Test func aLayerThatAddsALossTermCannotBeRecomputed() {
        let block = LayerConfig(Sequential.Spec([.dense(units: 4), .sampling()]), recompute: true)
        #expect(throws: ConfigError(path: "model[0]", "recompute: a layer with synchronized batch normalization, a padding_id or a loss term of its own (sampling) cannot be recomputed")) {
            _ = try Model([block], inputShape: [3], seed: 1)
        }
    }

    @Test func aRecomputedBlockDrawsTheSameKeyedNoiseInItsReplay() throws {
        func gradients(recompute: Bool) throws -> [Float] {
            let block = LayerConfig(Sequential.Spec([.dense(units: 4, activation: .tanh), .gaussianNoise(stddev: 0.5), .dense(units: 2)]),
                                    recompute: recompute)
            let model = try Model([block], inputShape: [4], seed: 6)
            let tape = Tape(parameters: model.parameters)
            var context = ForwardContext(tape: tape, isTraining: true, generator: RandomGenerator(seed: 1))
            context.sampleNoise = Self.noise
            model.parameters.zeroGradients()
            tape.backward(from: tape.sum(tape.square(model.forward(tape.constant(Self.input), context: &context))))
            return model.parameters.withGradients { Array($0) }
        }
        let plain = try gradients(recompute: false), recomputed = try gradients(recompute: true)
        let error = zip(plain, recomputed).map { abs($0 - $1) }.max()!
        #expect(error < 1e-6, "the replay drew other noise: gradients differ by \(error)")
    }
}
