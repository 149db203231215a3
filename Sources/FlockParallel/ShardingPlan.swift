import FlockComm
import FlockNN
import FlockTensor

/// Which rank holds which part of which parameter: every rank the whole model
/// (``WholeModelPlan``), a pipeline stage's layers split across a tensor group
/// (``ModelShardingPlan``), and next, data-parallel shards. Checkpoints, whole-model
/// reductions and the start-up check ask the plan, never a concrete strategy.
public protocol ShardingPlan: AnyObject {
    /// The job's groups (nil on one rank).
    var layout: ParallelLayout? { get }

    /// Decides what this rank holds of `model` and builds it. Collective over the world.
    func prepare(model: Model) throws

    /// The parameters and buffers this rank trains (valid after `prepare`).
    func parameters(of model: Model) -> ParameterStore

    /// What the plan decided at start-up (a pipeline's stages), for the log; empty when
    /// there is nothing to say.
    var summary: String { get }

    /// This rank's shard in checkpoint file names (`stage-1.tensor-0`); nil when every rank
    /// holds the whole model.
    var shardName: String? { get }

    /// Where this rank's tensor `name` sits in the whole model's (nil: it is whole).
    func placement(ofTensor name: String) -> ShardPlacement?

    /// The world ranks that write a shard to checkpoints (the first replica of each).
    var shardOwnerRanks: [Int] { get }

    /// Whether `value` holds on every rank that holds a part of the model (shards decide
    /// together whether a step's gradients are finite). Collective.
    func allShardsAgree(_ value: Bool) throws -> Bool

    /// ‖g‖² of the whole model's gradients of `slots`, given this rank's `parameters`
    /// (replicated parts counted once); under ZeRO stage 2 each data rank holds only
    /// `rows` of the gradients, summed over their group. Collective.
    func squaredNorm(of parameters: ParameterStore, slots: [ParameterSlot], rows: OptimizerStateShard?) throws -> Double
}

extension ShardingPlan {
    public var world: (any Communicator)? { layout?.world }
    public var worldRank: Int { layout?.world.rank ?? 0 }
    public var worldSize: Int { layout?.world.size ?? 1 }

    /// ‖g‖² of the whole model's gradients of `slots` with every rank holding them all.
    /// Collective.
    public func squaredNorm(of parameters: ParameterStore, slots: [ParameterSlot]) throws -> Double {
        try squaredNorm(of: parameters, slots: slots, rows: nil)
    }

    /// Σ g² over `slots` of `parameters` in slot order, in Double: this rank's `rows` of
    /// them when given.
    static func localSquaredNorm(of parameters: ParameterStore, slots: some Sequence<ParameterSlot>,
                                 rows: OptimizerStateShard? = nil) -> Double {
        var sum = 0.0
        parameters.withGradients { gradients in
            for slot in slots {
                slot.forEachRun(heldUnder: rows) { run in for g in gradients[run] { sum += Double(g) * Double(g) } }
            }
        }
        return sum
    }
}

/// Every rank holds the whole model (one rank, or data parallelism): the data replicas'
/// averaged gradients are equal, so every whole-model question is answered locally.
public final class WholeModelPlan: ShardingPlan {
    public let layout: ParallelLayout?

    public init(layout: ParallelLayout? = nil) { self.layout = layout }

    public func prepare(model: Model) throws {
        if let layout, layout.pipelineStages != 1 || layout.tensorWidth != 1 {
            throw ParallelLayout.LayoutError(description: "data parallelism alone cannot run a layout of \(ParallelLayout.describe(pipelineStages: layout.pipelineStages, tensorWidth: layout.tensorWidth))")
        }
    }

    public func parameters(of model: Model) -> ParameterStore { model.parameters }
    public var summary: String { "" }
    public var shardName: String? { nil }
    public func placement(ofTensor name: String) -> ShardPlacement? { nil }
    public var shardOwnerRanks: [Int] { [0] }
    public func allShardsAgree(_ value: Bool) throws -> Bool { value }

    public func squaredNorm(of parameters: ParameterStore, slots: [ParameterSlot], rows: OptimizerStateShard?) throws -> Double {
        let local = Self.localSquaredNorm(of: parameters, slots: slots, rows: rows)
        guard let rows else { return local }
        return try rows.group.allreduce([local], operation: .sum)[0]
    }
}
