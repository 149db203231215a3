import FlockTensor

/// Elman RNN step: h_t = tanh(x-part + h-part), one gate block.
public enum SimpleRNNCell: RecurrentCell {
    public static let typeName = "simple_rnn"
    public static let gates = 1

    public static func step(fromInput: Variable, fromHidden: Variable, state: RecurrentState, units: Int,
                            tape: Tape) -> RecurrentState {
        RecurrentState(hidden: tape.activation(tape.add(fromInput, fromHidden), .tanh), cell: nil)
    }
}
