import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// The pieces a GAN config is made of: the Wasserstein critic loss, constant loss targets,
/// the keyed latent noise and a graph input made of the batch's one-hot labels.
@Suite struct GANPiecesTests {
    static let scores = Tensor(shape: [4, 1], scalars: [0.7, -1.3, 2.1, 0.05])

    @Test func theWassersteinLossIsMinusTheMeanOfTargetTimesScoreWithItsGradient() throws {
        for sign: Float in [1, -1] {
            let tape = Tape(parameters: ParameterStore())
            let x = tape.leaf(Self.scores)
            let loss = Loss(terms: [.init(WassersteinLoss(), target: .constant(sign))])([LossTermConfig.modelOutput: x],
                                                                                         target: Tensor(zeros: [4]), inputs: [:])
            let mean = Self.scores.scalars.reduce(0, +) / 4
            #expect(abs(loss.value.scalar - (-sign * mean)) < 1e-6, "\(loss.value.scalar) for target \(sign)")
            tape.backward(from: loss)
            #expect(x.gradient!.scalars == [Float](repeating: -sign / 4, count: 4))
        }
    }

    @Test func theWassersteinLossThroughALayerMatchesFiniteDifferences() throws {
        // The critic's objective on a dense layer: −mean(y·D(x)) with y = ±1 per row.
        let model = try Model([.dense(units: 1, activation: .tanh)], inputShape: [3], seed: 5)
        var generator = RandomGenerator(seed: 2)
        let input = Tensor.uniform(shape: [4, 3], low: -1, high: 1, using: &generator)
        let signs = Tensor(shape: [4, 1], scalars: [1, -1, 1, -1])
        let store = model.parameters
        func objective(_ tape: Tape) -> Variable {
            var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 1))
            return WassersteinLoss()(model.forward(tape.constant(input), context: &context), target: signs)
        }
        func value() -> Float {
            let tape = Tape(parameters: store)
            return objective(tape).value.scalar
        }
        store.zeroGradients()
        let tape = Tape(parameters: store)
        tape.backward(from: objective(tape))
        let analytic = store.withGradients { Array($0) }
        var values = store.snapshotParameters(), worst: Float = 0
        let step: Float = 1e-2
        for i in values.indices {
            let original = values[i]
            values[i] = original + step; store.restoreParameters(values); let plus = value()
            values[i] = original - step; store.restoreParameters(values); let minus = value()
            values[i] = original; store.restoreParameters(values)
            worst = max(worst, abs((plus - minus) / (2 * step) - analytic[i]))
        }
        #expect(worst < 1e-3, "largest gradient mismatch \(worst)")
    }

    @Test func aConstantTargetComparesEveryElementWithTheNumber() throws {
        let tape = Tape(parameters: ParameterStore())
        let x = tape.constant(Self.scores)
        let constant = Loss(terms: [.init(BinaryCrossEntropyLoss(), target: .constant(1), output: "d")])(["d": x], target: Tensor(zeros: [4]), inputs: [:])
        let ones = BinaryCrossEntropyLoss()(x, target: Tensor(repeating: 1, shape: [4]))
        #expect(constant.value.scalar == ones.value.scalar)
        #expect(LossTarget(rawValue: "-1").constant == -1 && LossTarget.targets.constant == nil && LossTarget(rawValue: "image").constant == nil)
        #expect(Loss(terms: [.init(BinaryCrossEntropyLoss(), target: .constant(0))]).metricTargets(Tensor(zeros: [3]), inputs: [:]).scalars == [0, 0, 0])
    }

    @Test func latentNoiseIsKeyedBySampleAndIgnoresItsInputsValues() throws {
        let model = try Model([.latentNoise(units: 3)], inputShape: [2], seed: 1)
        #expect(model.outputShape == [3] && model.parameters.slots.isEmpty)
        func draw(samples: [Int], input: Tensor) -> [Float] {
            let tape = Tape(parameters: model.parameters)
            var context = ForwardContext(tape: tape, isTraining: true, generator: RandomGenerator(seed: 1))
            context.sampleNoise = SampleNoise(seed: 7, step: 4, samples: samples)
            return model.forward(tape.constant(input), context: &context).value.scalars
        }
        let both = draw(samples: [20, 31], input: Tensor(zeros: [2, 2]))
        // Sample 31 alone, with other input values, draws its row of the pair.
        #expect(draw(samples: [31], input: Tensor(repeating: 5, shape: [1, 2])) == Array(both[3...]))
        #expect(both == SampleNoise(seed: 7, step: 4, samples: [20, 31]).normal(path: "layers.0", shape: [2, 3]).scalars)
        #expect(Set(both).count == 6)
    }

    /// A graph with an image input and a one-hot label input: the label input takes no
    /// columns and reads `ForwardContext.labels`.
    @Test func anInputFromLabelsIsTheOneHotLabelsAndTakesNoColumns() throws {
        let config = ModelGraphConfig(
            inputs: [GraphInputConfig(name: "image", shape: [2]), GraphInputConfig(name: "digit", shape: [3], from: .labels)],
            nodes: [GraphNodeConfig(name: "both", inputs: ["image", "digit"], op: .concatenate)],
            outputs: ["both"])
        let model = try Model(graph: config, featureShape: [2], generator: RandomGenerator(seed: 1))
        let tape = Tape(parameters: model.parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 1))
        context.labels = Tensor(shape: [2], scalars: [2, 0])
        let values = model.graph!.values(tape.constant(Tensor(shape: [2, 2], scalars: [5, 6, 7, 8])), context: &context)
        #expect(values["both"]!.value.scalars == [5, 6, 0, 0, 1, 7, 8, 1, 0, 0])
        #expect(model.inputNames == ["features", "image"])
        #expect(model.graph!.inputTensors(Tensor(shape: [1, 2], scalars: [1, 2])).keys.sorted() == ["image"])
        // A label input is a one-hot row: it needs its width.
        let shapeless = ModelGraphConfig(inputs: [GraphInputConfig(name: "digit", from: .labels)],
                                         nodes: [GraphNodeConfig(name: "h", inputs: ["digit"], layers: [.dense(units: 2)])], outputs: ["h"])
        #expect(throws: ConfigError(path: "model.inputs[0].shape", "an input from labels is a one-hot row: expected [number of classes]")) {
            try shapeless.validate(path: "model")
        }
    }
}
