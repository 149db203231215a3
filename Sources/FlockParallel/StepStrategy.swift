/// One micro-batch of this rank's share of an optimizer step.
public struct MicroBatch {
    /// (n, featureShape…); n may be 0 on a rank that gets no samples of a short batch.
    public let features: Tensor
    /// (n, …)
    public let targets: Tensor
    /// Backward seed: this micro-batch's weight in the step's mean loss (n·N/G for n
    /// samples here, N data-parallel ranks and G samples in the whole step), so that after
    /// averaging over the ranks the gradient is the mean over all G samples.
    public let gradientScale: Float

    public init(features: Tensor, targets: Tensor, gradientScale: Float) {
        self.features = features
        self.targets = targets
        self.gradientScale = gradientScale
    }

    public var sampleCount: Int { features.shape.first ?? 0 }
}

/// What forward produced for a micro-batch: its mean loss and outputs, for metrics.
public struct MicroBatchOutcome {
    public let loss: Float
    /// (n, outputShape…)
    public let outputs: Tensor
    public let targets: Tensor

    public init(loss: Float, outputs: Tensor, targets: Tensor) {
        self.loss = loss
        self.outputs = outputs
        self.targets = targets
    }
}

/// How one optimizer step's gradients are computed and synchronized: on one rank, data
/// parallel, and (next) pipeline or tensor parallel. The trainer hands a strategy this
/// rank's micro-batches and then applies penalties, clipping and the optimizer to the
/// gradients it leaves in the parameter store; it never knows which strategy runs.
public protocol StepStrategy: AnyObject {
    /// All ranks of the job (decisions and checkpoints go through it); nil for one process.
    var world: (any Communicator)? { get }
    /// The ranks that split each global batch and reduce metrics (nil: this rank alone).
    var dataGroup: (any Communicator)? { get }

    /// Called once before training: checks that the ranks agree (`configHash` and the
    /// model, within the right groups) and makes them start from the same state.
    /// Collective over the world.
    func prepare(model: Model, configHash: UInt64) throws

    /// Forward and backward over `microBatches`; on return the store holds the step's
    /// final gradients (averaged across the data group). `step` names the optimizer step
    /// in errors. Dropout masks come from `generator`.
    func computeGradients(_ microBatches: [MicroBatch], model: Model, loss: Loss, step: Int,
                          generator: inout RandomGenerator) throws -> [MicroBatchOutcome]

    /// Loss and outputs in inference mode on this rank's `features`, with no gradients.
    func evaluate(features: Tensor, targets: Tensor, model: Model, loss: Loss) throws -> MicroBatchOutcome

    /// Makes the buffers (running statistics) of every replica of a shard equal to its
    /// first replica's, before evaluation and checkpoints. Collective.
    func synchronizeBuffers() throws

    /// Makes every replica's parameters and buffers its first replica's (after rank 0
    /// restored best weights). Collective.
    func synchronizeModelState() throws

    /// The parameters and buffers this rank trains: the whole model's, or under model
    /// parallelism its shard's (valid after `prepare`).
    func shardParameters(of model: Model) -> ParameterStore

    /// Whether `value` holds on every rank (model-parallel shards decide together whether
    /// a step's gradients are finite). Collective.
    func allShardsAgree(_ value: Bool) throws -> Bool

    /// ‖g‖² of the whole model's gradients, given this rank's `parameters` (for clipping by
    /// norm). Collective.
    func gradientSquaredNorm(of parameters: ParameterStore) throws -> Double

    /// What the strategy decided at start-up (a pipeline's stages), for the log; empty when
    /// there is nothing to say.
    var plan: String { get }

    /// This rank's shard in checkpoint file names (`stage-1.tensor-0`); nil when every rank
    /// holds the whole model.
    var shardName: String? { get }

    /// Where this rank's tensor `name` sits in the whole model's (nil: it is whole).
    func placement(ofTensor name: String) -> ShardPlacement?

    /// The world ranks that write a shard to checkpoints (the first replica of each).
    var shardOwnerRanks: [Int] { get }

    /// The layout of a parallel job (nil on one rank).
    var parallelLayout: ParallelLayout? { get }
}

extension StepStrategy {
    public func shardParameters(of model: Model) -> ParameterStore { model.parameters }
    public func allShardsAgree(_ value: Bool) throws -> Bool { value }
    public func gradientSquaredNorm(of parameters: ParameterStore) throws -> Double {
        GradientClipping.squaredNorm(parameters)
    }
    public var plan: String { "" }
    public var shardName: String? { nil }
    public func placement(ofTensor name: String) -> ShardPlacement? { nil }
    public var shardOwnerRanks: [Int] { [0] }
    public var parallelLayout: ParallelLayout? { nil }
}

extension StepStrategy {
    /// This rank's position in the data group.
    public var dataRank: Int { dataGroup?.rank ?? 0 }
    /// Ranks in the data group.
    public var dataGroupSize: Int { dataGroup?.size ?? 1 }
    public var worldRank: Int { world?.rank ?? 0 }
    public var worldSize: Int { world?.size ?? 1 }
}
