/// The Elman RNN's one gate, h_t = tanh(x-part + h-part); backward needs only h_t
/// (tanh' = 1 − h_t²), so a step keeps nothing more.
enum SimpleRNNKernel: RecurrentKernel {
    static let gates = 1
    static let savedBlocks = 0

    static func forward(_ s: RecurrentForwardStep) {
        FastMath.tanh(s.fromInput, into: s.hidden, count: s.batch * s.units)
    }

    static func backward(_ s: RecurrentBackwardStep) {
        for k in 0..<(s.batch * s.units) {
            s.inputGradient[k] = s.hiddenGradient[k] * (1 - s.hidden[k] * s.hidden[k])
            s.previousHiddenGradient[k] = 0
        }
    }
}
