import FlockNN

/// Skips a step whose gradients (or, on one rank, whose loss) are not finite; the shards
/// of a model-parallel job decide together. On with `TerminateOnNaN`.
public struct SkipNonFiniteStep: GradientTransform {
    public init() {}

    public func apply(_ update: GradientUpdate) throws -> Bool {
        var finite = true
        update.parameters.withGradients { gradients in
            for slot in update.trainableSlots where finite {
                update.forEachGradientRun(of: slot) { run in
                    if finite { finite = gradients[run].allSatisfy(\.isFinite) }
                }
            }
        }
        // The averaged gradients are the same on every replica, so every rank decides alike;
        // a rank's non-finite loss makes them non-finite too.
        return try update.everyGradientHolderAgrees(finite) && (update.dataGroupSize > 1 || update.lossFinite)
    }
}

/// L1/L2 penalty gradients on decayed parameters and clipping by value, fused into one
/// pass over each slot (the same arithmetic as two passes, in one read of the gradients).
public struct PenalizeAndClipValues: GradientTransform {
    public let penalty: WeightPenalty
    /// Clamp every gradient to [−limit, limit]; nil: no clamp.
    public let limit: Float?

    public init(penalty: WeightPenalty, limit: Float?) {
        self.penalty = penalty
        self.limit = limit
    }

    public func apply(_ update: GradientUpdate) throws -> Bool {
        let penalty = penalty
        let clamps = limit != nil, limit = limit ?? .infinity
        let parameters = update.parameters
        parameters.withParameters { w in
            parameters.withGradients { g in
                for slot in update.trainableSlots {
                    let penalized = slot.isDecayed && penalty.isActive
                    update.forEachGradientRun(of: slot) { run in
                        for i in run {
                            var gradient = g[i]
                            if penalized { gradient += penalty.gradient(at: w[i]) }
                            g[i] = clamps ? Swift.min(Swift.max(gradient, -limit), limit) : gradient
                        }
                    }
                }
            }
        }
        return true
    }
}

/// Scales the phase's gradients so their whole-model L2 norm is at most `maxNorm`
/// (PyTorch's `clip_grad_norm_`; every shard's share counted, replicas once).
public struct ClipByGlobalNorm: GradientTransform {
    public let maxNorm: Float

    public init(maxNorm: Float) { self.maxNorm = maxNorm }

    public func apply(_ update: GradientUpdate) throws -> Bool {
        let slots = update.trainableSlots
        let squared = try update.sharding.squaredNorm(of: update.parameters, slots: slots, rows: update.gradientRows)
        let norm = Float(squared.squareRoot())
        guard norm > maxNorm else { return true }
        let scale = maxNorm / (norm + 1e-6)
        update.parameters.withGradients { g in
            for slot in slots {
                update.forEachGradientRun(of: slot) { run in
                    for i in run { g[i] *= scale }
                }
            }
        }
        return true
    }
}

/// The update: the optimizer moves each group by the phase's learning rate times the
/// group's multiplier. Holds the optimizer and its state (checkpointed by the trainer).
public final class ApplyOptimizer: GradientTransform {
    public var optimizer: any Optimizer
    /// Under ZeRO stage 1: the rows whose state this rank keeps and updates (the optimizer's
    /// state is then in that shard's layout).
    public let shard: OptimizerStateShard?

    public init(_ optimizer: any Optimizer, shard: OptimizerStateShard? = nil) {
        self.optimizer = optimizer
        self.shard = shard
    }

    public func apply(_ update: GradientUpdate) throws -> Bool {
        if let shard {
            try shard.step(&optimizer, spans: update.updateSpans)
        } else {
            optimizer.step(update.parameters, spans: update.updateSpans)
        }
        return true
    }
}

/// After the update: every value of the phase's moving parameters clipped to
/// [−limit, limit] (the weight clipping that keeps a Wasserstein critic Lipschitz,
/// Arjovsky et al. 2017), biases included as theirs are.
public struct ClipWeights: GradientTransform {
    public let limit: Float

    public init(limit: Float) {
        precondition(limit > 0, "a weight clipping limit must be positive, got \(limit)")
        self.limit = limit
    }

    public func apply(_ update: GradientUpdate) throws -> Bool {
        update.parameters.withParameters { w in
            for slot in update.trainableSlots {
                slot.forEachRun(heldUnder: update.valueRows) { run in
                    for index in run { w[index] = Swift.min(Swift.max(w[index], -limit), limit) }
                }
            }
        }
        return true
    }
}
