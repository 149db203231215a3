import FlockNN
import FlockTensor
import Foundation

/// The train step of a model-parallel job (`parallel: {pipeline: P, tensor: T}`, the
/// remaining ranks data parallel): each rank runs one pipeline stage's layers, split
/// across its tensor group (its ``ModelShardingPlan``), on its data group's slice of every
/// batch.
///
/// Per optimizer step, each micro-batch the trainer hands over is cut into M pieces
/// (fewer when it has fewer samples: the short last batch of an epoch runs too, weighted
/// exactly), and the stage runs its list of the schedule's actions: forwards, backwards
/// (whole, or split into input and weight gradients for ZB-H1) and tagged transfers of
/// activations and their gradients to the neighbouring stages. The loss lives on the last
/// stage, which broadcasts each micro-batch's loss and outputs along the pipeline, so
/// every rank reports whole-model metrics. The gradient sync then averages each stage's
/// gradients across its data group only (`StepParts.modelParallel`).
public final class ModelParallelStep: TrainStep {
    public let layout: ParallelLayout
    public let scheduleKind: PipelineScheduleKind
    /// M: pieces per micro-batch (at most its sample count).
    public let microBatches: Int
    public let bucketBytes: Int
    /// Which layers and slices this rank holds.
    public let sharding: ModelShardingPlan
    /// Timings of the last step's schedules on this stage (for `flock bench pipeline`).
    public internal(set) var lastProfile = PipelineStageProfile()
    var schedules: [Int: PipelineSchedule] = [:]
    var tapes = TapePool()
    var trace = PipelineTrace()
    var evaluationTape: Tape?
    /// Whether a stage that reaches a receive not yet landed runs its next deferred W pass
    /// meanwhile (``EarlyWeightPasses``); off only to compare with the schedule as planned.
    var fillsWaitsWithWeightPasses = true

    public init(layout: ParallelLayout, schedule: PipelineScheduleKind = .oneForwardOneBackward, microBatches: Int = 4,
                partitioning: PipelinePartitioning = .parameters, bucketBytes: Int = 1 << 20, profileRows: Int = 32) {
        self.layout = layout
        self.scheduleKind = schedule
        self.microBatches = max(1, microBatches)
        self.bucketBytes = bucketBytes
        sharding = ModelShardingPlan(layout: layout, partitioning: partitioning, profileRows: profileRows)
        sharding.scheduleDescription = "schedule \(schedule.rawValue), \(self.microBatches) micro-batch\(self.microBatches == 1 ? "" : "es") per batch, "
    }

    public var stage: Int { layout.coordinates.pipeline }
    public var stages: Int { layout.pipelineStages }
    public var isLastStage: Bool { stage == stages - 1 }
    var link: StageLink { StageLink(communicator: layout.pipelineGroup) }
    /// This rank's layers (set when the sharding plan is prepared).
    public var shard: ModelShard? { sharding.shard }
    public var partition: PipelinePartition? { sharding.partition }
    /// Start-up plan: the stages' layers, costs and shard sizes (for the log).
    public var plan: String { sharding.summary }

    public func beginStep(_ context: inout StepContext) throws {
        // The ranks of a tensor group compute their replicated layers alike: one dropout stream.
        if layout.tensorWidth > 1 {
            let words = try layout.tensorGroup.broadcast(context.generator.state.map { Int64(bitPattern: $0) }, root: 0)
            context.generator = RandomGenerator(state: words.map { UInt64(bitPattern: $0) })
        }
        lastProfile = PipelineStageProfile()
    }

    public func forwardBackward(_ batch: MicroBatch, phase: StepPhase, context: inout StepContext) throws -> MicroBatchOutcome {
        guard let shard else { preconditionFailure("ModelParallelStep used before prepare") }
        let pieces = batch.split(into: min(microBatches, batch.sampleCount))
        let residency = context.environment.parameterResidency
        let schedule = try self.schedule(for: try piecesRun(own: pieces.count, residency: residency), real: pieces.count)
        let lastStageOutcomes = try run(schedule, pieces: pieces, shard: shard, loss: context.loss, step: context.step,
                                        residency: residency, generator: &context.generator)
        return try shareOutcome(isLastStage ? .joining(lastStageOutcomes) : nil, of: batch, model: context.model)
    }

    /// The last stage's outcome of `batch` on every stage of the pipeline (a broadcast of
    /// the loss and the outputs).
    func shareOutcome(_ outcome: MicroBatchOutcome?, of batch: MicroBatch, model: Model) throws -> MicroBatchOutcome {
        let outputShape = [batch.sampleCount] + model.outputShape
        guard stages > 1 else { return outcome! }
        var message = outcome.map { [$0.loss] + $0.outputs.scalars }
            ?? [Float](repeating: 0, count: 1 + outputShape.reduce(1, *))
        try message.withUnsafeMutableBufferPointer { try layout.pipelineGroup.broadcast($0, root: stages - 1) }
        return MicroBatchOutcome(loss: message[0], outputs: Tensor(shape: outputShape, scalars: Array(message[1...])),
                                 targets: batch.targets)
    }

    /// The validated schedule for `pieces` micro-batches (made once per count).
    func schedule(for pieces: Int) throws -> PipelineSchedule {
        if let known = schedules[pieces] { return known }
        let made = try scheduleKind.schedule(stages: stages, microBatches: pieces)
        schedules[pieces] = made
        return made
    }
}
