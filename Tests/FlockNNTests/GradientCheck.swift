import FlockTensor
import Testing
@testable import FlockNN

/// Finite-difference checks of a model's backward: the loss is a fixed random linear
/// functional of the output, Σ r ⊙ f(x), so every output element gets its own weight.
enum GradientCheck {
    /// Compares analytic gradients of every parameter and of the input with central
    /// differences; returns the largest absolute mismatch found. `checksInput: false`
    /// leaves the input alone (token ids: no gradient, and not ids once moved).
    static func largestError(_ model: Model, input: Tensor, isTraining: Bool = false, step: Float = 1e-2,
                             seed: UInt64 = 11, checksInput: Bool = true) -> (parameters: Float, input: Float) {
        var generator = RandomGenerator(seed: seed)
        let outputShape = [input.shape[0]] + model.outputShape
        let weights = Tensor.uniform(shape: outputShape, low: -1, high: 1, using: &generator)
        let store = model.parameters
        func loss(_ x: Tensor) -> Float {
            let tape = Tape(parameters: store)
            var context = ForwardContext(tape: tape, isTraining: isTraining, generator: RandomGenerator(seed: 1))
            let y = model.forward(tape.constant(x), context: &context).value
            var total = 0.0
            for i in 0..<y.count { total += Double(y.scalars[i]) * Double(weights.scalars[i]) }
            return Float(total)
        }
        store.zeroGradients()
        let tape = Tape(parameters: store)
        var context = ForwardContext(tape: tape, isTraining: isTraining, generator: RandomGenerator(seed: 1))
        let x = tape.leaf(input)
        let y = model.forward(x, context: &context)
        tape.backward(from: y, gradient: weights)
        let analytic = store.withGradients { Array($0) }
        let inputGradient = x.gradient ?? Tensor(zeros: input.shape)

        var parameterError: Float = 0
        var values = store.snapshotParameters()
        for i in 0..<values.count {
            let original = values[i]
            values[i] = original + step; store.restoreParameters(values); let plus = loss(input)
            values[i] = original - step; store.restoreParameters(values); let minus = loss(input)
            values[i] = original; store.restoreParameters(values)
            parameterError = max(parameterError, abs((plus - minus) / (2 * step) - analytic[i]))
        }
        var inputError: Float = 0
        var probe = input
        for i in 0..<(checksInput ? input.count : 0) {
            let original = probe.scalars[i]
            probe.scalars[i] = original + step; let plus = loss(probe)
            probe.scalars[i] = original - step; let minus = loss(probe)
            probe.scalars[i] = original
            inputError = max(inputError, abs((plus - minus) / (2 * step) - inputGradient.scalars[i]))
        }
        return (parameterError, inputError)
    }
}
