import FlockTensor

/// The max-norm constraint (Srebro & Shraibman 2005; Srivastava et al. 2014, with
/// dropout): after each update, every unit's incoming weight vector — a row of a weight
/// (out, in…), PyTorch's layout — is scaled back onto the ball of radius `maxNorm` when
/// it left it. Applies to decayed parameters (weights, not biases or norms' scales) of
/// rank ≥ 2, as Keras' `MaxNorm` on kernels.
public struct MaxNormConstraint: Sendable, Equatable {
    public var maxNorm: Float

    public init(maxNorm: Float) {
        precondition(maxNorm > 0, "max-norm radius must be positive, got \(maxNorm)")
        self.maxNorm = maxNorm
    }

    /// Rescales the rows whose L2 norm exceeds `maxNorm`, in place (of `slots`; all by default).
    public func apply(to parameters: ParameterStore, slots: [ParameterSlot]? = nil) {
        for slot in slots ?? parameters.slots where slot.isDecayed && slot.shape.count >= 2 {
            let rows = slot.shape[0], width = slot.count / Swift.max(rows, 1)
            parameters.withParameter(slot) { w in
                for row in 0..<rows {
                    let base = row * width
                    var squared = 0.0
                    for j in 0..<width { squared += Double(w[base + j]) * Double(w[base + j]) }
                    let norm = Float(squared.squareRoot())
                    guard norm > maxNorm else { continue }
                    let scale = maxNorm / norm
                    for j in 0..<width { w[base + j] *= scale }
                }
            }
        }
    }
}
