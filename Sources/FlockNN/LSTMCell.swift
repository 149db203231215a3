import FlockTensor

/// LSTM step, PyTorch's gate order (input i, forget f, cell g, output o), each block
/// the sum of its input and hidden projections:
///
///     i = σ(·), f = σ(·), g = tanh(·), o = σ(·)
///     c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
public enum LSTMCell: RecurrentCell {
    public static let typeName = "lstm"
    public static let gates = 4
    public static let hasCellState = true

    public static func step(fromInput: Variable, fromHidden: Variable, state: RecurrentState, units: Int,
                            tape: Tape) -> RecurrentState {
        let z = tape.add(fromInput, fromHidden)
        let i = tape.activation(gate(z, 0, units: units, tape: tape), .sigmoid)
        let f = tape.activation(gate(z, 1, units: units, tape: tape), .sigmoid)
        let g = tape.activation(gate(z, 2, units: units, tape: tape), .tanh)
        let o = tape.activation(gate(z, 3, units: units, tape: tape), .sigmoid)
        let c = tape.add(tape.multiply(f, state.cell!), tape.multiply(i, g))
        return RecurrentState(hidden: tape.multiply(o, tape.activation(c, .tanh)), cell: c)
    }
}
