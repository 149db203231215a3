import FlockTensor

@testable import FlockNN

/// The largest gap between backward's parameter gradients and central finite differences
/// of a model's cross-entropy on one batch (inference mode, so dropout is off).
/// `probe` receives the input leaf after backward, for checks on the input gradient.
func parameterGradientError(_ forward: (Variable, inout ForwardContext) -> Variable, store: ParameterStore,
                            input: Tensor, labels: [Int], step: Float = 1e-2,
                            probe: (Variable) -> Void = { _ in }) -> Float {
    func loss(_ tape: Tape, _ x: Variable) -> Variable {
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        return tape.softmaxCrossEntropy(forward(x, &context), labels: labels)
    }
    store.zeroGradients()
    let tape = Tape(parameters: store)
    let x = tape.leaf(input)
    tape.backward(from: loss(tape, x))
    probe(x)
    let analytic = store.withGradients { Array($0) }
    var values = store.snapshotParameters()
    var worst: Float = 0
    func evaluate() -> Float {
        let tape = Tape(parameters: store)
        return loss(tape, tape.constant(input)).value.scalar
    }
    for i in 0..<values.count {
        let original = values[i]
        values[i] = original + step; store.restoreParameters(values); let plus = evaluate()
        values[i] = original - step; store.restoreParameters(values); let minus = evaluate()
        values[i] = original; store.restoreParameters(values)
        worst = max(worst, abs((plus - minus) / (2 * step) - analytic[i]))
    }
    return worst
}
