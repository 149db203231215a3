@testable import FlockTensor

/// Central finite differences against the tape's gradients.
///
/// The function under test maps leaf tensors to any output; it is reduced to a scalar by
/// a fixed random projection Σ r⊙f(x), so every entry of the Jacobian is exercised.
/// Returns the largest error relative to max(1, |numeric|).
func gradientCheckError(_ inputs: [Tensor], step: Float = 1e-2, store: ParameterStore = ParameterStore(),
                        _ function: (Tape, [Variable]) -> Variable) -> Float {
    var projectionGenerator = RandomGenerator(seed: 99)
    var projection: Tensor? = nil

    func evaluate(_ values: [Tensor], analytic: Bool) -> (Float, [Tensor?]) {
        let tape = Tape(parameters: store)
        let leaves = values.map { tape.leaf($0) }
        let output = function(tape, leaves)
        if projection == nil {
            projection = Tensor.uniform(shape: output.shape, low: -1, high: 1, using: &projectionGenerator)
        }
        let weighted = tape.sum(tape.multiply(output, tape.constant(projection!)))
        guard analytic else { return (weighted.value.scalar, []) }
        tape.backward(from: weighted)
        return (weighted.value.scalar, leaves.map { $0.gradient })
    }

    let (_, analytic) = evaluate(inputs, analytic: true)
    var worst: Float = 0
    for (which, input) in inputs.enumerated() {
        for i in 0..<input.count {
            var plus = inputs, minus = inputs
            plus[which].scalars[i] += step
            minus[which].scalars[i] -= step
            let numeric = (evaluate(plus, analytic: false).0 - evaluate(minus, analytic: false).0) / (2 * step)
            let computed = analytic[which]?.scalars[i] ?? 0
            worst = max(worst, abs(numeric - computed) / max(1, abs(numeric)))
        }
    }
    return worst
}

func randomTensor(_ shape: [Int], seed: UInt64, low: Float = -1, high: Float = 1) -> Tensor {
    var generator = RandomGenerator(seed: seed)
    return Tensor.uniform(shape: shape, low: low, high: high, using: &generator)
}
