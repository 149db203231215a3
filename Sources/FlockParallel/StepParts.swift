import FlockComm
import FlockNN
import FlockTensor

/// One optimizer step as three parts: what it computes (``TrainStep``), how gradients meet
/// (``GradientSync``) and which rank holds what (``ShardingPlan``). The trainer runs a
/// `StepParts` and never knows which parts it holds.
///
/// ```swift
/// let parts = StepParts.dataParallel(layout: layout, step: MyStep())
/// try parts.prepare(model: model, configHash: hash)          // collective
/// let outcomes = try parts.computeGradients(batches, phase: .whole, loss: loss, step: 0, generator: &generator)
/// ```
public final class StepParts {
    public let step: any TrainStep
    public let sync: any GradientSync
    public let sharding: any ShardingPlan
    /// Set by `prepare`.
    public private(set) var environment: StepEnvironment?

    public init(step: any TrainStep, sync: any GradientSync, sharding: any ShardingPlan) {
        self.step = step
        self.sync = sync
        self.sharding = sharding
    }

    /// One rank alone.
    public static func singleRank(_ step: any TrainStep = ModelStep()) -> StepParts {
        StepParts(step: step, sync: NoGradientSync(), sharding: WholeModelPlan())
    }

    /// Every rank of `layout` holds the whole model; its data group averages gradients,
    /// or with `shardsGradients` (ZeRO stage 2) reduce-scatters them into each rank's rows;
    /// with `shardsParameters` (stage 3, from a model description) each rank keeps only its
    /// rows of the values too, gathered layer by layer.
    public static func dataParallel(layout: ParallelLayout, step: any TrainStep = ModelStep(), bucketBytes: Int = 1 << 20,
                                    overlap: Bool = true, compression: WireCompression = .none,
                                    shardsGradients: Bool = false, shardsParameters: Bool = false) -> StepParts {
        let sync: any GradientSync = shardsGradients || shardsParameters
            ? ReduceScatterGradientSync(communicator: layout.dataGroup, bucketBytes: bucketBytes, overlap: overlap,
                                        shardsParameters: shardsParameters)
            : AllreduceGradientSync(communicator: layout.dataGroup, bucketBytes: bucketBytes, overlap: overlap,
                                    compression: compression)
        return StepParts(step: step, sync: sync, sharding: WholeModelPlan(layout: layout))
    }

    /// Pipeline stages and tensor slices (`step`'s layout), data parallel across the rest
    /// (gradients reduce-scattered into each data rank's rows with `shardsGradients`; with
    /// `shardsParameters`, ZeRO stage 3 on pipeline stages, each data rank of a stage keeps
    /// only its rows of the stage's weights, gathered layer by layer).
    public static func modelParallel(_ step: ModelParallelStep, shardsGradients: Bool = false,
                                     shardsParameters: Bool = false) -> StepParts {
        let layout = step.layout
        let sharding = step.sharding
        let sync: any GradientSync
        if layout.dataParallelSize == 1 {
            sync = NoGradientSync()
        } else if shardsGradients || shardsParameters {
            sharding.describesShard = shardsParameters
            // Rows split on the axis a tensor-parallel slice is already split on, as the
            // optimizer state's shard does.
            sync = ReduceScatterGradientSync(communicator: layout.dataGroup, bucketBytes: step.bucketBytes, overlap: false,
                                             shardsParameters: shardsParameters) {
                [unowned sharding] slot in sharding.placement(ofTensor: slot.name)
            }
        } else {
            sync = AllreduceGradientSync(communicator: layout.dataGroup, bucketBytes: step.bucketBytes, overlap: false)
        }
        return StepParts(step: step, sync: sync, sharding: sharding)
    }

    public var layout: ParallelLayout? { sharding.layout }
    public var world: (any Communicator)? { sharding.world }
    /// The ranks that split each global batch and reduce metrics (nil: this rank alone).
    public var dataGroup: (any Communicator)? { sync.group }
    public var dataRank: Int { dataGroup?.rank ?? 0 }
    public var dataGroupSize: Int { dataGroup?.size ?? 1 }
    public var worldRank: Int { sharding.worldRank }
    public var worldSize: Int { sharding.worldSize }

    /// The parameters and buffers this rank trains (valid after `prepare`).
    public func parameters(of model: Model) -> ParameterStore { sharding.parameters(of: model) }

    /// Decides the shards, checks that the ranks agree (`configHash` and the model, within
    /// each group), makes the replicas start from one state and prepares the step.
    /// Collective over the world.
    public func prepare(model: Model, configHash: UInt64) throws {
        try sharding.prepare(model: model)
        let parameters = sharding.parameters(of: model)
        if let layout { try ModelConsistency.verify(parameters, configHash: configHash, layout: layout) }
        try sync.prepare(parameters: parameters, model: model)
        let environment = StepEnvironment(model: model, parameters: parameters, sharding: sharding, sync: sync)
        try step.prepare(environment)
        self.environment = environment
    }

    /// Forward and backward of `phase` over this rank's `microBatches`; on return the store
    /// holds the phase's final gradients (averaged across the data group). `step` names the
    /// optimizer step in errors; training noise comes from `generator`. Collective.
    public func computeGradients(_ microBatches: [MicroBatch], phase: StepPhase = .whole, loss: Loss, step: Int,
                                 generator: inout RandomGenerator) throws -> [MicroBatchOutcome] {
        guard let environment else { preconditionFailure("StepParts used before prepare(model:configHash:)") }
        if let layout {
            for group in [layout.world, layout.dataGroup, layout.pipelineGroup, layout.tensorGroup] { group.step = step }
        }
        var context = StepContext(environment: environment, loss: loss, step: step, generator: generator)
        defer { generator = context.generator }
        try sync.beginStep(step)
        try self.step.beginStep(&context)
        var outcomes: [MicroBatchOutcome] = []
        for (index, batch) in microBatches.enumerated() {
            context.sumAcrossDataGroup = try sync.beginMicroBatch(isLast: index == microBatches.count - 1,
                                                                  samples: batch.sampleCount)
            context.batchGather = loss.gathersGlobalBatch ? try BatchGather.forMicroBatch(dataGroup, samples: batch.sampleCount) : nil
            guard batch.sampleCount > 0 else {
                // Under ZeRO stage 3 the other ranks' gathers wait for this one's.
                if let residency = environment.parameterResidency { try self.step.takePartInGathers(residency, model: environment.model) }
                continue
            }
            var batch = batch
            if batch.paddingMask == nil { batch.paddingMask = environment.model.paddingMask(forInput: batch.features) }
            outcomes.append(try self.step.forwardBackward(batch, phase: phase, context: &context))
            try context.batchGather?.rethrow()
        }
        try sync.finishStep()
        return outcomes
    }

    /// Loss and outputs in inference mode on this rank's `features`, with no gradients.
    public func evaluate(features: Tensor, targets: Tensor, loss: Loss) throws -> MicroBatchOutcome {
        guard let environment else { preconditionFailure("StepParts used before prepare(model:configHash:)") }
        return try step.evaluate(features: features, targets: targets,
                                 context: StepContext(environment: environment, loss: loss, step: 0,
                                                      generator: RandomGenerator(seed: 0)))
    }

    /// Makes the buffers (running statistics) of every replica of a shard equal to its
    /// first replica's, before evaluation and checkpoints. Collective.
    public func synchronizeBuffers() throws { try sync.synchronizeBuffers() }

    /// Makes every replica's parameters and buffers its first replica's (after rank 0
    /// restored best weights). Collective.
    public func synchronizeModelState() throws { try sync.synchronizeModelState() }
}
