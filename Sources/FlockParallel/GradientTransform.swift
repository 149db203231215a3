import FlockNN
import FlockTensor

/// One link of the chain that runs over a phase's gradients after backward (in the style
/// of optax): a finite check, penalties, clipping, the update, constraints. Each is a
/// small type; a new kind of gradient work (a sharded update) is a new transform, not a
/// branch in the trainer.
public protocol GradientTransform {
    /// Transforms `update`'s gradients (or, after the update, its parameters) in place;
    /// returns false to skip the rest of this step. Collective where the sharding plan's
    /// whole-model questions are.
    func apply(_ update: GradientUpdate) throws -> Bool
}

/// What the transforms of one phase of one step work on.
public struct GradientUpdate {
    public let parameters: ParameterStore
    /// The phase's groups (frozen ones included: transforms skip them).
    public let groups: [ParameterGroup]
    public let sharding: any ShardingPlan
    /// The phase's learning rate before each group's multiplier.
    public let learningRate: Float
    /// Whether this rank's losses were finite.
    public let lossFinite: Bool
    /// Ranks averaging the gradients (a rank's non-finite loss is theirs only when 1).
    public let dataGroupSize: Int
    /// The slots that move this phase, in buffer order (worked out once per step: the
    /// transforms all walk them).
    public let trainableSlots: [ParameterSlot]
    /// The update's runs of the flat buffer, each with its group's learning rate.
    public let updateSpans: [UpdateSpan]
    /// Under ZeRO stage 2: the rows whose averaged gradients this rank holds (the others
    /// read zero); transforms work on these and reduce what is global over their group.
    public var gradientRows: OptimizerStateShard?
    /// Under ZeRO stage 3: the rows of the weights this rank holds (the others are given
    /// back); transforms after the update work on these.
    public var valueRows: OptimizerStateShard?

    public init(parameters: ParameterStore, groups: [ParameterGroup], sharding: any ShardingPlan, learningRate: Float,
                lossFinite: Bool, dataGroupSize: Int) {
        self.parameters = parameters
        self.groups = groups
        self.sharding = sharding
        self.learningRate = learningRate
        self.lossFinite = lossFinite
        self.dataGroupSize = dataGroupSize
        trainableSlots = groups.filter { !$0.isFrozen }.flatMap(\.slots).sorted { $0.offset < $1.offset }
        updateSpans = ParameterGroup.spans(of: groups, learningRate: learningRate)
    }
}

extension GradientUpdate {
    /// Calls `body` with each run of the flat buffer whose gradients of `slot` this rank
    /// holds: the whole slot, or under ZeRO stage 2 this rank's rows of it.
    public func forEachGradientRun(of slot: ParameterSlot, _ body: (Range<Int>) -> Void) {
        slot.forEachRun(heldUnder: gradientRows, body)
    }

    /// Whether `value` holds on every rank that holds gradients of the model: every shard,
    /// and under ZeRO stage 2 every data rank. Collective.
    func everyGradientHolderAgrees(_ value: Bool) throws -> Bool {
        var value = value
        if let group = gradientRows?.group {
            value = try group.allreduce([value ? 1 : 0] as [Int32], operation: .min)[0] == 1
        }
        return try sharding.allShardsAgree(value)
    }
}

/// A phase's transforms in order; after the last, the gradients of every parameter the
/// phase did not update (frozen, another phase's) are cleared, so nothing leaks into the
/// next phase or step.
public struct GradientChain {
    public var transforms: [any GradientTransform]

    public init(_ transforms: [any GradientTransform]) { self.transforms = transforms }

    /// Runs the transforms; false (and every gradient cleared) when one skips the step.
    public func apply(_ update: GradientUpdate) throws -> Bool {
        for transform in transforms where try !transform.apply(update) {
            update.parameters.zeroGradients()
            return false
        }
        var cleared = 0
        update.parameters.withGradients { gradients in
            for span in update.updateSpans + [UpdateSpan(range: gradients.count..<gradients.count, learningRate: 1)] {
                for i in cleared..<span.range.lowerBound { gradients[i] = 0 }
                cleared = span.range.upperBound
            }
        }
        return true
    }
}
