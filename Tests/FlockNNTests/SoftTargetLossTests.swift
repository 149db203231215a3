import FlockTensor
import Testing
@testable import FlockNN

/// Cross-entropy against target distributions (mixup's soft targets).
@Suite struct SoftTargetLossTests {
    static let logits = Tensor(shape: [3, 4], scalars: [0.5, -1, 2, 0.1, 1.5, 0.3, -0.7, 0.9, -0.2, 0.4, 0.8, -1.1])

    func lossAndGradient(_ body: (Tape, Variable) -> Variable) -> (Float, [Float]) {
        let tape = Tape(parameters: ParameterStore())
        let z = tape.leaf(Self.logits)
        let loss = body(tape, z)
        tape.backward(from: loss)
        return (loss.value.scalar, z.gradient!.scalars)
    }

    @Test(arguments: [Float(0), 0.1])
    func oneHotDistributionsEqualClassLabels(smoothing: Float) {
        let labels = [2, 0, 3]
        var oneHot = Tensor(zeros: [3, 4])
        for (row, label) in labels.enumerated() { oneHot[row, label] = 1 }
        let hard = lossAndGradient { $0.softmaxCrossEntropy($1, labels: labels, labelSmoothing: smoothing) }
        let soft = lossAndGradient { $0.softmaxCrossEntropy($1, targetDistributions: oneHot, labelSmoothing: smoothing) }
        #expect(abs(hard.0 - soft.0) < 1e-6)
        #expect(zip(hard.1, soft.1).allSatisfy { abs($0 - $1) < 1e-6 })
        // And through Loss: a (B, C) target takes the soft path.
        let tape = Tape(parameters: ParameterStore())
        let viaLoss = Loss.crossEntropy(labelSmoothing: smoothing, classWeights: nil)(tape.constant(Self.logits), target: oneHot)
        #expect(abs(viaLoss.value.scalar - hard.0) < 1e-6)
    }

    @Test func softTargetGradientsMatchFiniteDifferences() {
        let targets = Tensor(shape: [3, 4], scalars: [0.7, 0, 0.3, 0, 0, 0.25, 0, 0.75, 0.5, 0.5, 0, 0])
        let (_, analytic) = lossAndGradient { $0.softmaxCrossEntropy($1, targetDistributions: targets) }
        let step: Float = 1e-2
        for i in 0..<Self.logits.count {
            func loss(_ shift: Float) -> Float {
                var shifted = Self.logits
                shifted.scalars[i] += shift
                let tape = Tape(parameters: ParameterStore())
                return tape.softmaxCrossEntropy(tape.constant(shifted), targetDistributions: targets).value.scalar
            }
            #expect(abs((loss(step) - loss(-step)) / (2 * step) - analytic[i]) < 1e-3, "logit \(i)")
        }
    }
}
