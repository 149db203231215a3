import Foundation
import Testing
@testable import FlockTensor

/// Finite-difference gradient checks for every differentiable op on the tape.
@Suite struct OpGradientTests {
    let tolerance: Float = 2e-2

    @Test(arguments: [([3, 4], [3, 4]), ([3, 4], [4]), ([2, 1, 3], [4, 1]), ([5], [])])
    func broadcastingArithmetic(shapes: ([Int], [Int])) {
        let a = randomTensor(shapes.0, seed: 1), b = randomTensor(shapes.1, seed: 2, low: 0.5, high: 2)
        #expect(gradientCheckError([a, b]) { t, x in t.add(x[0], x[1]) } < tolerance)
        #expect(gradientCheckError([a, b]) { t, x in t.subtract(x[0], x[1]) } < tolerance)
        #expect(gradientCheckError([a, b]) { t, x in t.multiply(x[0], x[1]) } < tolerance)
        #expect(gradientCheckError([a, b]) { t, x in t.divide(x[0], x[1]) } < tolerance)
    }

    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func matmulWithTransposes(transposes: (Bool, Bool)) {
        let a = randomTensor(transposes.0 ? [4, 3] : [3, 4], seed: 3)
        let b = randomTensor(transposes.1 ? [5, 4] : [4, 5], seed: 4)
        let error = gradientCheckError([a, b]) { t, x in
            t.matmul(x[0], x[1], transposeA: transposes.0, transposeB: transposes.1)
        }
        #expect(error < tolerance)
    }

    @Test func matmulMatchesNaiveReference() {
        let a = randomTensor([3, 4], seed: 5), b = randomTensor([5, 4], seed: 6)
        let fast = Tensor.matmul(a, b, transposeB: true)
        for i in 0..<3 {
            for j in 0..<5 {
                var expected: Float = 0
                for k in 0..<4 { expected += a[i, k] * b[j, k] }
                #expect(abs(fast[i, j] - expected) < 1e-5)
            }
        }
    }

    @Test func reductionsAndShapes() {
        let a = randomTensor([3, 4, 2], seed: 7)
        #expect(gradientCheckError([a]) { t, x in t.sum(x[0]) } < tolerance)
        #expect(gradientCheckError([a]) { t, x in t.mean(x[0]) } < tolerance)
        for axis in 0..<3 {
            #expect(gradientCheckError([a]) { t, x in t.sum(x[0], alongAxis: axis) } < tolerance)
        }
        #expect(gradientCheckError([a]) { t, x in t.reshape(x[0], to: [4, 6]) } < tolerance)
        #expect(gradientCheckError([a]) { t, x in t.scale(x[0], by: -2.5) } < tolerance)
    }

    @Test func elementwiseFunctions() {
        let a = randomTensor([3, 5], seed: 8)
        let positive = randomTensor([3, 5], seed: 9, low: 0.5, high: 3)
        #expect(gradientCheckError([a]) { t, x in t.exp(x[0]) } < tolerance)
        #expect(gradientCheckError([positive]) { t, x in t.log(x[0]) } < tolerance)
        #expect(gradientCheckError([a]) { t, x in t.square(x[0]) } < tolerance)
    }

    @Test(arguments: Activation.allCases)
    func activation(kind: Activation) {
        // Keep samples away from the kink at 0 of ReLU-like functions.
        var input = randomTensor([4, 6], seed: 10, low: -3, high: 3)
        input = input.map { abs($0) < 0.05 ? $0 + 0.1 : $0 }
        let error = gradientCheckError([input]) { t, x in t.activation(x[0], kind) }
        #expect(error < tolerance, "\(kind)")
    }

    /// tanh and σ on the tape run on 8-lane kernels: 19 values (two groups and a tail of 3)
    /// against their definitions in Float64, and their gradients by finite differences.
    @Test(arguments: [Activation.tanh, .sigmoid])
    func squashingOnTheTapeMatchesItsDefinition(kind: Activation) {
        let input = randomTensor([19], seed: 12, low: -6, high: 6)
        let tape = Tape(parameters: ParameterStore())
        let y = tape.activation(tape.constant(input), kind).value
        for (x, value) in zip(input.scalars, y.scalars) {
            let exact = kind == .tanh ? Foundation.tanh(Double(x)) : 1 / (1 + Foundation.exp(-Double(x)))
            #expect(abs(Double(value) - exact) <= 1e-6 * abs(exact), "\(kind)(\(x)) = \(value)")
        }
        #expect(gradientCheckError([input]) { t, x in t.activation(x[0], kind) } < tolerance, "\(kind)")
    }

    @Test func activationValuesMatchDefinitions() {
        #expect(Activation.relu.value(-2, alpha: 0) == 0)
        #expect(Activation.leakyRelu.value(-2, alpha: 0.01) == -0.02)
        #expect(abs(Activation.elu.value(-1, alpha: 1) - (expf(-1) - 1)) < 1e-6)
        #expect(abs(Activation.sigmoid.value(0, alpha: 1) - 0.5) < 1e-7)
        #expect(abs(Activation.swish.value(1, alpha: 1) - 1 / (1 + expf(-1))) < 1e-6)
        // GELU(1) = Φ(1) = 0.841344746…
        #expect(abs(Activation.gelu.value(1, alpha: 1) - 0.8413447) < 1e-5)
        let softmax = Tensor.softmaxLastAxis(Tensor(shape: [1, 3], scalars: [1, 2, 3]))
        let denominator = expf(1) + expf(2) + expf(3)
        #expect(abs(softmax[0, 2] - expf(3) / denominator) < 1e-6)
    }

    @Test func lossGradients() {
        let prediction = randomTensor([4, 3], seed: 11, low: -2, high: 2)
        let target = randomTensor([4, 3], seed: 12, low: -2, high: 2)
        let binary = Tensor(shape: [4, 3], scalars: (0..<12).map { Float($0 % 2) })
        let probabilities = randomTensor([4, 3], seed: 13, low: 0.1, high: 0.9)
        #expect(gradientCheckError([prediction]) { t, x in t.meanSquaredError(x[0], target: target) } < tolerance)
        #expect(gradientCheckError([prediction]) { t, x in t.meanAbsoluteError(x[0], target: target) } < tolerance)
        #expect(gradientCheckError([prediction]) { t, x in t.huber(x[0], target: target, delta: 0.7) } < tolerance)
        #expect(gradientCheckError([prediction]) { t, x in t.binaryCrossEntropy(x[0], target: binary) } < tolerance)
        #expect(gradientCheckError([probabilities], step: 1e-3) { t, x in
            t.binaryCrossEntropy(x[0], target: binary, fromLogits: false)
        } < tolerance)
    }

    @Test(arguments: [(Float(0), false), (0.1, false), (0, true), (0.2, true)])
    func softmaxCrossEntropy(options: (Float, Bool)) {
        let logits = randomTensor([5, 4], seed: 14, low: -2, high: 2)
        let labels = [0, 3, 1, 1, 2]
        let weights: [Float]? = options.1 ? [0.5, 2, 1, 1.5] : nil
        let error = gradientCheckError([logits]) { t, x in
            t.softmaxCrossEntropy(x[0], labels: labels, labelSmoothing: options.0, classWeights: weights)
        }
        #expect(error < tolerance)
    }

    @Test func softmaxCrossEntropyValueMatchesDefinition() {
        let logits = Tensor(shape: [2, 3], scalars: [1, 2, 3, 0, 0, 0])
        let tape = Tape(parameters: ParameterStore())
        let loss = tape.softmaxCrossEntropy(tape.constant(logits), labels: [2, 0])
        let first = -logf(expf(3) / (expf(1) + expf(2) + expf(3)))
        let second = -logf(1.0 / 3.0)
        #expect(abs(loss.value.scalar - (first + second) / 2) < 1e-5)
    }

    @Test func dropoutGradientUsesTheSameMask() {
        let input = randomTensor([4, 5], seed: 15)
        let error = gradientCheckError([input]) { t, x in
            var generator = RandomGenerator(seed: 3)
            return t.dropout(x[0], rate: 0.4, generator: &generator)
        }
        #expect(error < tolerance)
    }

    @Test func dropoutZeroesAboutRateAndScalesSurvivors() {
        let tape = Tape(parameters: ParameterStore())
        var generator = RandomGenerator(seed: 4)
        let output = tape.dropout(tape.constant(Tensor(repeating: 1, shape: [10_000])), rate: 0.25, generator: &generator)
        let zeros = output.value.scalars.filter { $0 == 0 }.count
        #expect(zeros > 2_300 && zeros < 2_700)
        #expect(output.value.scalars.filter { $0 != 0 }.allSatisfy { abs($0 - 1 / 0.75) < 1e-6 })
    }
}
