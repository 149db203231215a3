/// Updates parameters from their gradients. Each optimizer is one loop over the
/// store's flat buffers; the same loop clears the gradients for the next step.
///
/// `step` reads the gradients as they stand (already averaged across ranks, clipped and
/// penalised).
public protocol Optimizer {
    /// Applies one update with learning rate `learningRate`, then zeroes the gradients.
    mutating func step(_ parameters: ParameterStore, learningRate: Float)
    /// Number of updates applied so far.
    var stepCount: Int { get }
}

extension Optimizer {
    /// Makes sure a state buffer matches the parameter count.
    static func sized(_ state: inout [Float], _ count: Int) {
        if state.count != count { state = [Float](repeating: 0, count: count) }
    }
}
