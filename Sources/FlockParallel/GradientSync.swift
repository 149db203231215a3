import FlockComm
import FlockNN
import FlockTensor

/// How the gradients of the ranks that hold the same parameters meet: not at all (one
/// rank, or each rank its own shard), or averaged across a data group
/// (``AllreduceGradientSync``); a reduce-scatter for sharded data parallelism is another
/// implementation. The trainer calls it around the train step's micro-batches:
///
/// ```
/// beginStep(step)                      // once per optimizer step
/// for each micro-batch: beginMicroBatch(isLast:samples:) → train step forward/backward
/// finishStep()                         // gradients are final
/// ```
public protocol GradientSync: AnyObject {
    /// The ranks that split each global batch and reduce metrics (nil: this rank alone).
    var group: (any Communicator)? { get }

    /// Makes the data group start from one state and readies its gradient memory, for
    /// `parameters` (this rank's part of `model`). Collective over the group.
    func prepare(parameters: ParameterStore, model: Model) throws

    /// Hooks the sync onto a tape's gradient-ready events (overlap with backward).
    func attach(to tape: Tape)

    /// Before the step's first micro-batch: names `step` in errors and makes the replicas'
    /// running statistics equal. Collective.
    func beginStep(_ step: Int) throws

    /// Before each micro-batch (`samples` on this rank, perhaps 0): whether this one
    /// synchronizes; returns the sum synchronized statistics use, or nil. Collective.
    func beginMicroBatch(isLast: Bool, samples: Int) throws -> ((inout [Double]) -> Void)?

    /// After the step's micro-batches: the gradients are final on return. Collective.
    func finishStep() throws

    /// Makes the buffers (running statistics) of every replica its first replica's.
    /// Collective.
    func synchronizeBuffers() throws

    /// Makes every replica's parameters and buffers its first replica's. Collective.
    func synchronizeModelState() throws

    /// Under ZeRO stage 3: what gathers each layer's parameters around its use (nil: every
    /// rank holds them all).
    var parameterResidency: (any ParameterResidency)? { get }
}

extension GradientSync {
    public var parameterResidency: (any ParameterResidency)? { nil }
}

/// Gradients stay where they are: one rank, or a layout without data replicas.
public final class NoGradientSync: GradientSync {
    public init() {}
    public var group: (any Communicator)? { nil }
    public func prepare(parameters: ParameterStore, model: Model) throws {}
    public func attach(to tape: Tape) {}
    public func beginStep(_ step: Int) throws {}
    public func beginMicroBatch(isLast: Bool, samples: Int) throws -> ((inout [Double]) -> Void)? { nil }
    public func finishStep() throws {}
    public func synchronizeBuffers() throws {}
    public func synchronizeModelState() throws {}
}
