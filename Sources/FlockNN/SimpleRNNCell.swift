import FlockTensor

/// Elman RNN step: h_t = tanh(x-part + h-part), one gate block (`SimpleRNNKernel`).
public enum SimpleRNNCell: RecurrentCell {
    public static let typeName = "simple_rnn"
    public static let gates = 1
    public static let kind = RecurrentCellKind.simple
}
