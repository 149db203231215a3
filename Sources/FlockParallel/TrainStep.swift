import FlockNN
import FlockTensor

/// What one optimizer step computes on this rank: forward, losses and backward over its
/// micro-batches, leaving parameter gradients in the store. It knows nothing of how
/// gradients meet across ranks (``GradientSync``) or which rank holds what
/// (``ShardingPlan``); ``StepParts`` puts the three together and the trainer runs them.
///
/// The built-in ``ModelStep`` runs a model and one loss; a step of your own computes
/// anything a tape can differentiate (an extra loss on an intermediate output, two
/// networks) and keeps every distribution feature: the gradient sync watches
/// `context.tape`, the trainer reduces the outcomes' losses across the data group.
///
/// ```swift
/// final class AuxiliaryLossStep: TrainStep {
///     func forwardBackward(_ batch: MicroBatch, phase: StepPhase, context: inout StepContext) throws -> MicroBatchOutcome {
///         var forward = context.beginForward(isTraining: true)
///         let hidden = context.model.root.layers[0].forward(context.tape.constant(batch.features), context: &forward)
///         let output = context.model.root.layers[1].forward(hidden, context: &forward)
///         let tape = context.tape
///         let objective = tape.add(context.loss(output, target: batch.targets),
///                                  tape.scale(tape.mean(tape.square(hidden)), by: 0.01))
///         return context.backward(from: objective, output: output, batch: batch, forward: forward)
///     }
/// }
/// ```
public protocol TrainStep: AnyObject {
    /// The phases of one optimizer step, run in order, each followed by its own update of
    /// its own parameter group (a GAN: the discriminator's, then the generator's). One
    /// phase over every trainable parameter by default.
    var phases: [StepPhase] { get }

    /// Called once before training, after the sharding plan and the gradient sync are
    /// prepared: `environment` holds the parameters this rank trains. Collective for steps
    /// that talk to other ranks.
    func prepare(_ environment: StepEnvironment) throws

    /// Called once per optimizer step before its micro-batches (a tensor group agrees on
    /// its dropout stream here). Collective for steps that talk to other ranks.
    func beginStep(_ context: inout StepContext) throws

    /// Forward, losses and backward of one micro-batch with samples, seeded with
    /// `batch.gradientScale`; parameter gradients accumulate in the store. Dropout masks
    /// and other noise come from `context.generator`.
    func forwardBackward(_ batch: MicroBatch, phase: StepPhase, context: inout StepContext) throws -> MicroBatchOutcome

    /// Loss and outputs in inference mode, with no gradients.
    func evaluate(features: Tensor, targets: Tensor, context: StepContext) throws -> MicroBatchOutcome

    /// Under ZeRO stage 3, on a rank without samples in a micro-batch: the gathers the
    /// other ranks' forward and backward make, with nothing computed, so none waits for it.
    func takePartInGathers(_ residency: any ParameterResidency, model: Model) throws
}

extension TrainStep {
    public var phases: [StepPhase] { [.whole] }
    public func prepare(_ environment: StepEnvironment) throws {}
    public func beginStep(_ context: inout StepContext) throws {}

    /// Each recomputed layer's gathers (a graph node's included), in forward order and
    /// then in reverse.
    public func takePartInGathers(_ residency: any ParameterResidency, model: Model) throws {
        residency.takePart(in: model.layersInForwardOrder, reversed: false)
        residency.takePart(in: model.layersInForwardOrder, reversed: true)
    }

    /// The model's forward and the loss in inference mode on `context.tape`.
    public func evaluate(features: Tensor, targets: Tensor, context: StepContext) throws -> MicroBatchOutcome {
        let tape = context.tape
        tape.reset()
        tape.recordsBackward = false
        defer {
            tape.reset()
            tape.recordsBackward = true
        }
        // Inference draws no random numbers; the generator is a placeholder.
        var forward = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        forward.sequencePadding = context.model.paddingMask(forInput: features)
        forward.parameterResidency = context.environment.parameterResidency
        forward.labels = targets
        let (objective, output) = context.runModel(features, targets: targets, forward: &forward)
        return MicroBatchOutcome(loss: objective.value.scalar, outputs: output.value, targets: targets)
    }
}

/// One part of an optimizer step: the parameters its update moves (by path prefix) and
/// the optimizer that moves them (nil: the trainer's).
public struct StepPhase {
    public let name: String
    /// Parameter paths starting with one of these are this phase's group; empty: every
    /// trainable parameter.
    public let parameterPrefixes: [String]
    /// This phase's own optimizer (a GAN's two Adams); nil: a fresh copy of the trainer's.
    public let optimizer: (any Optimizer)?
    /// This phase's own objective; nil: the trainer's loss.
    public let loss: Loss?
    /// This phase's learning rate over the trainer's (a config phase's own `lr` over the
    /// config's), on the same schedule.
    public let learningRateScale: Float
    /// The phase runs on the last of every `every` optimizer steps (steps k−1, 2k−1, …):
    /// a GAN's critic every step and its generator every k-th. 1: every step.
    public let every: Int
    /// After each update the phase's parameters are clipped to [−clipWeights, clipWeights]
    /// (a Wasserstein critic); nil: not clipped.
    public let clipWeights: Float?

    public init(name: String, parameterPrefixes: [String] = [], optimizer: (any Optimizer)? = nil, loss: Loss? = nil,
                learningRateScale: Float = 1, every: Int = 1, clipWeights: Float? = nil) {
        precondition(every >= 1, "a phase runs every k ≥ 1 steps, got \(every)")
        self.name = name
        self.parameterPrefixes = parameterPrefixes
        self.optimizer = optimizer
        self.loss = loss
        self.learningRateScale = learningRateScale
        self.every = every
        self.clipWeights = clipWeights
    }

    /// Whether the phase runs in optimizer step `step` (counted from 0).
    public func runs(atStep step: Int) -> Bool { step % every == every - 1 }

    /// How many updates the phase has taken before optimizer step `step`.
    public func updates(before step: Int) -> Int { step / every }

    /// One phase over every trainable parameter.
    public static var whole: StepPhase { StepPhase(name: "main") }

    /// Whether the parameter at `path` is this phase's.
    public func updates(_ path: String) -> Bool {
        parameterPrefixes.isEmpty || parameterPrefixes.contains { path.hasPrefix($0) }
    }
}

/// What a train step works on at this rank, fixed at start-up.
public final class StepEnvironment {
    public let model: Model
    /// The parameters and buffers this rank trains: the model's, or its shard's.
    public let parameters: ParameterStore
    public let sharding: any ShardingPlan
    public let sync: any GradientSync
    /// A tape on `parameters` whose gradient-ready events reach the gradient sync (reset it
    /// per micro-batch; its storage is kept).
    public let tape: Tape
    /// Under ZeRO stage 3, what gathers each recomputed layer's parameters (every forward
    /// context carries it).
    public let parameterResidency: (any ParameterResidency)?

    init(model: Model, parameters: ParameterStore, sharding: any ShardingPlan, sync: any GradientSync) {
        self.model = model
        self.parameters = parameters
        self.sharding = sharding
        self.sync = sync
        tape = Tape(parameters: parameters)
        parameterResidency = sync.parameterResidency
        sync.attach(to: tape)
    }
}

/// One optimizer step (or one evaluation) as a train step sees it.
public struct StepContext {
    public let environment: StepEnvironment
    public let loss: Loss
    /// The optimizer step, for errors.
    public let step: Int
    /// Dropout and other training noise; handed back to the trainer after the step.
    public var generator: RandomGenerator
    /// Sums across the data group for synchronized statistics in this micro-batch (nil:
    /// each rank's own).
    public internal(set) var sumAcrossDataGroup: ((inout [Double]) -> Void)?
    /// Gathers rows across the data group for a loss over the global batch (triplet
    /// mining) in this micro-batch; nil: this rank's rows.
    public internal(set) var batchGather: BatchGather?

    public init(environment: StepEnvironment, loss: Loss, step: Int, generator: RandomGenerator) {
        self.environment = environment
        self.loss = loss
        self.step = step
        self.generator = generator
    }

    public var model: Model { environment.model }
    public var tape: Tape { environment.tape }
    public var parameters: ParameterStore { environment.parameters }

    /// Resets the tape and starts a forward pass that draws from this context's generator,
    /// with `batch`'s padding mask for the layers that read one.
    public func beginForward(isTraining: Bool, batch: MicroBatch? = nil) -> ForwardContext {
        tape.reset()
        var forward = ForwardContext(tape: tape, isTraining: isTraining, generator: generator,
                                     sumAcrossDataGroup: isTraining ? sumAcrossDataGroup : nil)
        forward.sequencePadding = batch?.paddingMask
        forward.parameterResidency = environment.parameterResidency
        forward.sampleNoise = batch?.sampleNoise
        forward.labels = batch?.targets
        return forward
    }

    /// The model on `features` and the loss on its outputs (each term's named output and
    /// target, plus the terms layers added in `forward`); `output` is the one the loss's
    /// first term reads, for metrics.
    public func runModel(_ features: Tensor, targets: Tensor,
                         forward: inout ForwardContext) -> (objective: Variable, output: Variable) {
        let outputs = model.forwardOutputs(tape.constant(features), context: &forward)
        let objective = loss(outputs, target: targets, inputs: model.inputTensors(features, readBy: loss), added: forward.addedLosses,
                             gather: forward.isTraining ? batchGather : nil)
        return (objective, outputs[loss.primaryOutput]!)
    }

    /// Backward from `objective` seeded with the batch's weight, keeping what `forward`
    /// drew; the outcome reports `objective` and `output`.
    public mutating func backward(from objective: Variable, output: Variable, batch: MicroBatch,
                                  forward: ForwardContext) -> MicroBatchOutcome {
        generator = forward.generator
        tape.backward(from: objective, seed: batch.gradientScale)
        return MicroBatchOutcome(loss: objective.value.scalar, outputs: output.value, targets: batch.targets)
    }
}
