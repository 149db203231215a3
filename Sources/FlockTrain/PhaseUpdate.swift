import FlockNN
import FlockParallel
import FlockTensor

/// One phase of an optimizer step as the trainer runs it: the phase, the parameter groups
/// it moves (from the layers' `trainable` and `lr_multiplier`), its update (optimizer and
/// state) and the chain of gradient transforms around that update.
struct PhaseUpdate {
    let phase: StepPhase
    let groups: [ParameterGroup]
    let update: ApplyOptimizer
    let chain: GradientChain
    /// The store's slots whose gradients this phase does not need (frozen, or another
    /// phase's): backward skips their weight-gradient work.
    let skippedSlots: Set<Int>
}

extension Trainer {
    /// A phase update for each phase of `parts`' train step, over this rank's parameters.
    static func phaseUpdates(of parts: StepParts, model: Model, optimizer: any Optimizer,
                             options: TrainingOptions) -> [PhaseUpdate] {
        let store = parts.parameters(of: model)
        return parts.step.phases.map { phase in
            let slots = store.slots.filter { phase.updates($0.name) }
            let update = ApplyOptimizer(phase.optimizer ?? optimizer, shard: optimizerStateShard(store, parts: parts, options: options))
            let groups = ParameterGroup.grouping(slots, scales: model.updateScales)
            let moving = Set(groups.filter { !$0.isFrozen }.flatMap(\.slots).map(\.index))
            var chain = options.gradientChain(around: update)
            if let limit = phase.clipWeights { chain.transforms.append(ClipWeights(limit: limit)) }
            return PhaseUpdate(phase: phase, groups: groups, update: update, chain: chain,
                               skippedSlots: Set(store.slots.map(\.index)).subtracting(moving))
        }
    }
}

extension Trainer {
    /// Under `zero: 1` or `2` with more than one data rank, this rank's rows of `store`:
    /// split on the axis a tensor-parallel slice is split on, else the first (the rows the
    /// stage-2 gradient sync reduce-scatters into).
    static func optimizerStateShard(_ store: ParameterStore, parts: StepParts, options: TrainingOptions) -> OptimizerStateShard? {
        guard options.zeroStage >= 1, let group = parts.dataGroup, group.size > 1 else { return nil }
        let shard = OptimizerStateShard(parameters: store, group: group, gradientsAreSharded: options.zeroStage >= 2) {
            parts.sharding.placement(ofTensor: $0.name)?.axis
        }
        shard.gathersAfterUpdate = options.zeroStage < 3
        return shard
    }

    /// This rank's rows of the optimizer state under ZeRO (every phase's shard has the same rows).
    var optimizerStateShard: OptimizerStateShard? { phaseUpdates[0].update.shard }

    /// The optimizers' state for checkpoints: one phase's buffers as they are; with several
    /// phases, each buffer named after its phase (`discriminator/first_moment`). Under ZeRO,
    /// in the layout of this rank's rows (`OptimizerStateShard.store`).
    var optimizerState: [String: [Float]] {
        guard phaseUpdates.count > 1 else { return optimizer.stateBuffers }
        var buffers: [String: [Float]] = [:]
        for phase in phaseUpdates {
            for (name, values) in phase.update.optimizer.stateBuffers { buffers["\(phase.phase.name)/\(name)"] = values }
        }
        return buffers
    }

    /// Restores what `optimizerState` saved (under ZeRO, this rank's rows) after `stepCount`
    /// optimizer steps (a phase that runs every k-th step has taken stepCount / k updates).
    /// A buffer that does not hold one value per parameter (row) of this rank is an error
    /// naming it.
    func restoreOptimizerState(_ buffers: [String: [Float]], stepCount: Int) throws {
        let expected = optimizerStateShard?.store.count ?? parameters.count
        for (name, values) in buffers.sorted(by: { $0.key < $1.key }) where values.count != expected {
            throw OptimizerStateError(description: "\(name) has \(values.count) values, this rank trains \(expected) parameters\(optimizerStateShard == nil ? "" : " (its ZeRO rows)")")
        }
        guard phaseUpdates.count > 1 else {
            return try phaseUpdates[0].update.optimizer.restore(stateBuffers: buffers, stepCount: stepCount)
        }
        let phaseNames = Set(phaseUpdates.map(\.phase.name))
        if let stray = buffers.keys.sorted().first(where: { !phaseNames.contains(String($0.prefix { $0 != "/" })) }) {
            throw OptimizerStateError(description: "optimizer state has a buffer '\(stray)' of no phase of this step (phases: \(phaseUpdates.map(\.phase.name).joined(separator: ", ")))")
        }
        for phase in phaseUpdates {
            let prefix = phase.phase.name + "/"
            let own = buffers.filter { $0.key.hasPrefix(prefix) }
            try phase.update.optimizer.restore(stateBuffers: Dictionary(uniqueKeysWithValues: own.map { (String($0.key.dropFirst(prefix.count)), $0.value) }),
                                               stepCount: phase.phase.updates(before: stepCount))
        }
    }
}

extension TrainingOptions {
    /// The transforms these options ask for, in order: skip a non-finite step, penalties
    /// and clipping by value (one pass), clipping by norm, `update`, the max-norm constraint.
    func gradientChain(around update: ApplyOptimizer) -> GradientChain {
        var transforms: [any GradientTransform] = []
        if nonFinite != nil { transforms.append(SkipNonFiniteStep()) }
        if penalty.isActive || clipValue != nil { transforms.append(PenalizeAndClipValues(penalty: penalty, limit: clipValue)) }
        if let clipNorm { transforms.append(ClipByGlobalNorm(maxNorm: clipNorm)) }
        transforms.append(update)
        if let maxNorm { transforms.append(ConstrainMaxNorm(maxNorm)) }
        return GradientChain(transforms)
    }
}
