import FlockTensor
import Foundation
import Testing
@testable import FlockNN

@Suite struct ScheduleTests {
    @Test func stepDecayDropsEveryStepSizeEpochs() {
        let schedule = LearningRateSchedule(StepDecaySchedule(stepSize: 2, gamma: 0.5))
        // 10 optimizer steps per epoch: epochs 0–1 at 1.0, 2–3 at 0.5, 4 at 0.25.
        let rates = [0, 19, 20, 39, 40].map { schedule.learningRate(base: 1, step: $0, stepsPerEpoch: 10, totalSteps: 100) }
        #expect(rates == [1, 1, 0.5, 0.5, 0.25])
    }

    @Test func exponentialDecayPerEpoch() {
        let schedule = LearningRateSchedule(ExponentialDecaySchedule(gamma: 0.9))
        for epoch in 0..<5 {
            let rate = schedule.learningRate(base: 0.1, step: epoch * 4 + 3, stepsPerEpoch: 4, totalSteps: 20)
            #expect(abs(Double(rate) - 0.1 * pow(0.9, Double(epoch))) < 1e-7)
        }
    }

    @Test func cosineAnnealsFromBaseToMinimum() {
        let schedule = LearningRateSchedule(CosineSchedule(minLR: 0.01))
        for step in [0, 25, 50, 75, 100] {
            let expected = 0.01 + (1 - 0.01) * (1 + cos(Double.pi * Double(step) / 100)) / 2
            let rate = schedule.learningRate(base: 1, step: step, stepsPerEpoch: 10, totalSteps: 100)
            #expect(abs(Double(rate) - expected) < 1e-6)
        }
    }

    @Test func linearWarmupThenSchedule() {
        let schedule = LearningRateSchedule(CosineSchedule(minLR: 0), warmupSteps: 4)
        let warm = (0..<4).map { schedule.learningRate(base: 2, step: $0, stepsPerEpoch: 4, totalSteps: 44) }
        #expect(warm == [0.5, 1, 1.5, 2])
        let afterWarmup = schedule.learningRate(base: 2, step: 24, stepsPerEpoch: 4, totalSteps: 44)
        #expect(abs(Double(afterWarmup) - 2 * (1 + cos(Double.pi * 20 / 40)) / 2) < 1e-6)
    }
}

@Suite struct MetricTests {
    @Test func confusionMatrixScores() {
        var matrix = ConfusionMatrix(classCount: 3)
        matrix.add(actual: [0, 0, 1, 1, 2, 2], predicted: [0, 1, 1, 1, 0, 2])
        #expect(matrix.counts == [[1, 1, 0], [0, 2, 0], [1, 0, 1]])
        #expect(abs(matrix.accuracy - 4.0 / 6) < 1e-12)
        // precision: class 0 1/2, class 1 2/3, class 2 1/1; recall: 1/2, 1, 1/2
        #expect(abs(matrix.macroPrecision - (0.5 + 2.0 / 3 + 1) / 3) < 1e-12)
        #expect(abs(matrix.macroRecall - (0.5 + 1 + 0.5) / 3) < 1e-12)
        let f1 = [0.5, 0.8, 2.0 / 3]
        #expect(abs(matrix.macroF1 - f1.reduce(0, +) / 3) < 1e-12)
    }

    @Test func regressionMetrics() {
        var metrics = RegressionMetrics()
        metrics.add(predictions: [1, 2, 4], targets: [1, 3, 2])
        #expect(abs(metrics.meanSquaredError - 5.0 / 3) < 1e-12)
        #expect(abs(metrics.rootMeanSquaredError - (5.0 / 3).squareRoot()) < 1e-12)
        #expect(abs(metrics.meanAbsoluteError - 1) < 1e-12)
        // targets mean 2, SS_tot = 1 + 1 + 0 = 2, SS_res = 5
        #expect(abs(metrics.rSquared - (1 - 5.0 / 2)) < 1e-12)
    }
}

@Suite struct LayerTests {
    @Test func sequentialNamesParametersByLayerPath() throws {
        let store = ParameterStore()
        var generator = RandomGenerator(seed: 1)
        let model = try Sequential([.dense(units: 4, activation: .relu), .dropout(rate: 0.5), .dense(units: 2, useBias: false)],
                               inputShape: [3], parameters: store, generator: &generator)
        #expect(store.slots.map(\.name) == ["layers.0.weight", "layers.0.bias", "layers.2.weight"])
        #expect(store.slots.map(\.shape) == [[4, 3], [4], [2, 4]])
        #expect(store.count == 12 + 4 + 8)
        #expect(model.outputShape == [2])
    }

    @Test func denseNetworkParameterGradientsMatchFiniteDifferences() throws {
        let store = ParameterStore()
        var generator = RandomGenerator(seed: 2)
        let model = try Sequential([.flatten, .dense(units: 5, activation: .tanh), .dense(units: 3, activation: .gelu), .dense(units: 4)],
                               inputShape: [2, 3], parameters: store, generator: &generator)
        let input = Tensor.uniform(shape: [6, 2, 3], low: -1, high: 1, using: &generator)
        let labels = [0, 1, 2, 3, 1, 0]

        let error = parameterGradientError({ model.forward($0, context: &$1) }, store: store, input: input, labels: labels)
        #expect(error < 5e-3)
    }

    @Test func dropoutIsIdentityAtInference() {
        let store = ParameterStore()
        let tape = Tape(parameters: store)
        let input = Tensor(repeating: 1, shape: [8, 8])
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 1))
        #expect(Dropout(rate: 0.5, outputShape: [8]).forward(tape.constant(input), context: &context).value == input)
        context.isTraining = true
        #expect(Dropout(rate: 0.5, outputShape: [8]).forward(tape.constant(input), context: &context).value != input)
    }

    /// Expected variances for fan-in 400, fan-out 100: He 2/400, Glorot 2/500, normal 0.05².
    static let variances: [(String, Double)] = [
        ("he_normal", 0.005), ("xavier_normal", 0.004), ("he_uniform", 0.005), ("xavier_uniform", 0.004), ("normal", 0.0025),
    ]

    @Test(arguments: variances)
    func initializerVariance(name: String, variance: Double) {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: 40_000)
        defer { buffer.deallocate() }
        Initializer(name: name)!.fill(buffer, fanIn: 400, fanOut: 100, stream: CounterRandom(seed: 3, name: "layers.0.weight"))
        let mean = buffer.reduce(0.0) { $0 + Double($1) } / 40_000
        let measured = buffer.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / 40_000
        #expect(abs(measured - variance) / variance < 0.05, "\(name): variance \(measured), expected \(variance)")
    }

    @Test func zerosAndOnesInitializers() {
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: 4)
        defer { buffer.deallocate() }
        let stream = CounterRandom(seed: 3, name: "w")
        Initializer.ones.fill(buffer, fanIn: 2, fanOut: 2, stream: stream)
        #expect(Array(buffer) == [1, 1, 1, 1])
        Initializer.zeros.fill(buffer, fanIn: 2, fanOut: 2, stream: stream)
        #expect(Array(buffer) == [0, 0, 0, 0])
    }
}
