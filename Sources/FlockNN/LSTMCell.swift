import FlockTensor

/// LSTM step, PyTorch's gate order (input i, forget f, cell g, output o), each block
/// the sum of its input and hidden projections (arithmetic in `LSTMKernel`):
///
///     i = σ(·), f = σ(·), g = tanh(·), o = σ(·)
///     c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
public enum LSTMCell: RecurrentCell {
    public static let typeName = "lstm"
    public static let gates = 4
    public static let kind = RecurrentCellKind.lstm
}
