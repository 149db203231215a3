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
        for slot in slots ?? parameters.slots where constrains(slot) {
            rescale(slot, in: parameters, runs: [slot.range], squaredNorms: Self.squaredUnitNorms(of: slot, in: parameters, runs: [slot.range]))
        }
    }

    /// Whether `slot` is constrained: a decayed parameter of rank ≥ 2.
    public func constrains(_ slot: ParameterSlot) -> Bool { slot.isDecayed && slot.shape.count >= 2 }

    /// Σ w² of each unit (a row along the first axis of `slot`'s tensor) over the elements
    /// of `runs` (flat ranges of the store within the slot, in order), in Double; a unit
    /// with no element there sums to 0. Shape (slot.shape[0]).
    public static func squaredUnitNorms(of slot: ParameterSlot, in parameters: ParameterStore, runs: [Range<Int>]) -> [Double] {
        let width = slot.count / Swift.max(slot.shape[0], 1)
        var squared = [Double](repeating: 0, count: slot.shape[0])
        parameters.withParameters { w in
            for run in runs {
                for i in run { squared[(i - slot.offset) / width] += Double(w[i]) * Double(w[i]) }
            }
        }
        return squared
    }

    /// Scales the elements of `runs` of each unit whose norm (√`squaredNorms`) is past `maxNorm`
    /// back onto the ball.
    public func rescale(_ slot: ParameterSlot, in parameters: ParameterStore, runs: [Range<Int>], squaredNorms: [Double]) {
        let width = slot.count / Swift.max(slot.shape[0], 1)
        let scales = squaredNorms.map { squared -> Float in
            let norm = Float(squared.squareRoot())
            return norm > maxNorm ? maxNorm / norm : 1
        }
        parameters.withParameters { w in
            for run in runs {
                for i in run where scales[(i - slot.offset) / width] != 1 { w[i] *= scales[(i - slot.offset) / width] }
            }
        }
    }
}
