import Foundation
import Testing
@testable import FlockTensor

/// Focal loss and the distillation divergence: values against formulas evaluated here in
/// Double, gradients against finite differences.
@Suite struct DistillationLossTests {
    static func softmax(_ row: [Double]) -> [Double] {
        let largest = row.max()!, exps = row.map { Foundation.exp($0 - largest) }, total = exps.reduce(0, +)
        return exps.map { $0 / total }
    }

    static func rows(_ t: Tensor) -> [[Double]] {
        (0..<t.shape[0]).map { r in (0..<t.shape[1]).map { Double(t[r, $0]) } }
    }

    @Test(arguments: [Float(0), 0.5, 2, 5])
    func focalLossValueAndGradient(gamma: Float) {
        let logits = randomTensor([4, 3], seed: 1, low: -3, high: 3), labels = [0, 2, 1, 2]
        let tape = Tape(parameters: ParameterStore())
        let value = tape.focalLoss(tape.constant(logits), labels: labels, gamma: gamma).value.scalar
        var expected = 0.0
        for (row, label) in labels.enumerated() {
            let p = Self.softmax(Self.rows(logits)[row])[label]
            expected -= Foundation.pow(1 - p, Double(gamma)) * Foundation.log(p)
        }
        #expect(abs(Double(value) - expected / 4) < 1e-5, "focal \(value) vs \(expected / 4)")
        #expect(gradientCheckError([logits], step: 1e-3) { t, x in t.focalLoss(x[0], labels: labels, gamma: gamma) } < 1e-2)
    }

    @Test(arguments: [Float(1), 2, 4])
    func distillationDivergenceValueAndGradient(temperature: Float) {
        let student = randomTensor([3, 4], seed: 2, low: -3, high: 3), teacher = randomTensor([3, 4], seed: 3, low: -4, high: 4)
        let tape = Tape(parameters: ParameterStore())
        let value = tape.distillationDivergence(tape.constant(student), teacherLogits: teacher, temperature: temperature).value.scalar
        var expected = 0.0
        let t = Double(temperature)
        for (s, r) in zip(Self.rows(student), Self.rows(teacher)) {
            let q = Self.softmax(s.map { $0 / t }), p = Self.softmax(r.map { $0 / t })
            for c in 0..<4 { expected += p[c] * Foundation.log(p[c] / q[c]) }
        }
        expected *= t * t / 3
        #expect(abs(Double(value) - expected) < 1e-4, "divergence \(value) vs \(expected)")
        let error = gradientCheckError([student], step: 1e-3) { t, x in
            t.distillationDivergence(x[0], teacherLogits: teacher, temperature: temperature)
        }
        #expect(error < 1e-2)
        // A student that matches the teacher has nothing left to learn.
        let same = Tape(parameters: ParameterStore())
        #expect(abs(same.distillationDivergence(same.constant(teacher), teacherLogits: teacher, temperature: temperature).value.scalar) < 1e-6)
    }
}
