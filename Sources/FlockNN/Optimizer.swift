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
    /// The optimizer's state for checkpoints: named buffers, each one value per parameter
    /// scalar in the store's layout (empty before the first step).
    var stateBuffers: [String: [Float]] { get }
    /// Restores what `stateBuffers` and `stepCount` described.
    mutating func restore(stateBuffers: [String: [Float]], stepCount: Int) throws
}

/// A checkpointed optimizer state that does not fit this optimizer.
public struct OptimizerStateError: Error, CustomStringConvertible {
    public let description: String
}

extension Optimizer {
    /// Rejects a checkpointed state written by another kind of optimizer.
    static func checkNames(_ buffers: [String: [Float]], allowed: Set<String>, optimizer: String) throws {
        if let extra = buffers.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw OptimizerStateError(description: "optimizer state has a buffer '\(extra)' that \(optimizer) does not use (expected \(allowed.sorted().joined(separator: ", ")))")
        }
    }

    /// Makes sure a state buffer matches the parameter count.
    static func sized(_ state: inout [Float], _ count: Int) {
        if state.count != count { state = [Float](repeating: 0, count: count) }
    }
}
