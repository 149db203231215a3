import FlockTensor

/// GRU step, PyTorch's gate order (reset r, update z, new n); the reset gate scales the
/// hidden projection of n *after* its bias, as PyTorch and cuDNN do:
///
///     r = σ(x_r + h_r),  z = σ(x_z + h_z),  n = tanh(x_n + r ⊙ h_n)
///     h_t = (1 − z) ⊙ n + z ⊙ h_{t−1} = n + z ⊙ (h_{t−1} − n)
public enum GRUCell: RecurrentCell {
    public static let typeName = "gru"
    public static let gates = 3

    public static func step(fromInput: Variable, fromHidden: Variable, state: RecurrentState, units: Int,
                            tape: Tape) -> RecurrentState {
        func block(_ x: Variable, _ index: Int) -> Variable { gate(x, index, units: units, tape: tape) }
        let r = tape.activation(tape.add(block(fromInput, 0), block(fromHidden, 0)), .sigmoid)
        let z = tape.activation(tape.add(block(fromInput, 1), block(fromHidden, 1)), .sigmoid)
        let n = tape.activation(tape.add(block(fromInput, 2), tape.multiply(r, block(fromHidden, 2))), .tanh)
        let hidden = tape.add(n, tape.multiply(z, tape.subtract(state.hidden, n)))
        return RecurrentState(hidden: hidden, cell: nil)
    }
}
