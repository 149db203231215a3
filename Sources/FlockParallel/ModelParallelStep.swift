import Foundation

/// The step of a model-parallel job (`parallel: {pipeline: P, tensor: T}`, the remaining
/// ranks data parallel): each rank runs one pipeline stage's layers, split across its
/// tensor group, on its data group's slice of every batch.
///
/// Per optimizer step, each micro-batch the trainer hands over is cut into M pieces
/// (fewer when it has fewer samples: the short last batch of an epoch runs too, weighted
/// exactly), and the stage runs its list of the schedule's actions: forwards, backwards
/// (whole, or split into input and weight gradients for ZB-H1) and tagged transfers of
/// activations and their gradients to the neighbouring stages. The loss lives on the last
/// stage, which broadcasts each micro-batch's loss and outputs along the pipeline, so
/// every rank reports whole-model metrics. Then each stage's gradients are averaged
/// across its data group only.
public final class ModelParallelStep: StepStrategy {
    public let layout: ParallelLayout
    public let scheduleKind: PipelineScheduleKind
    /// M: pieces per micro-batch (at most its sample count).
    public let microBatches: Int
    public let partitioning: PipelinePartitioning
    public let bucketBytes: Int
    /// Samples per micro-batch when partitioning by profiled time.
    public let profileRows: Int
    /// Set by `prepare`.
    public private(set) var partition: PipelinePartition?
    public private(set) var shard: ModelShard?
    /// Start-up plan: the stages' layers, costs and shard sizes (for the log).
    public private(set) var plan = ""
    /// Timings of the last step's schedules on this stage (for `flock bench pipeline`).
    public internal(set) var lastProfile = PipelineStageProfile()
    var dataParallel: DataParallel?
    var schedules: [Int: PipelineSchedule] = [:]
    var tapes = TapePool()
    var trace = PipelineTrace()
    var evaluationTape: Tape?
    /// The embedding with a `padding_id` in an earlier stage, whose padding mask this
    /// stage's attention and pooling need (it does not travel with the activations).
    var upstreamEmbedding: Embedding?
    /// Whether a stage that reaches a receive not yet landed runs its next deferred W pass
    /// meanwhile (``EarlyWeightPasses``); off only to compare with the schedule as planned.
    var fillsWaitsWithWeightPasses = true

    public init(layout: ParallelLayout, schedule: PipelineScheduleKind = .oneForwardOneBackward, microBatches: Int = 4,
                partitioning: PipelinePartitioning = .parameters, bucketBytes: Int = 1 << 20, profileRows: Int = 32) {
        self.layout = layout
        self.scheduleKind = schedule
        self.microBatches = max(1, microBatches)
        self.partitioning = partitioning
        self.bucketBytes = bucketBytes
        self.profileRows = max(1, profileRows)
    }

    public var parallelLayout: ParallelLayout? { layout }
    public var world: (any Communicator)? { layout.world }
    public var dataGroup: (any Communicator)? { layout.dataGroup }
    public var stage: Int { layout.coordinates.pipeline }
    public var stages: Int { layout.pipelineStages }
    public var isLastStage: Bool { stage == stages - 1 }
    var link: StageLink { StageLink(communicator: layout.pipelineGroup) }

    public func shardParameters(of model: Model) -> ParameterStore { shard?.parameters ?? model.parameters }

    public var shardName: String? { "stage-\(stage).tensor-\(layout.coordinates.tensor)" }

    public func placement(ofTensor name: String) -> ShardPlacement? { shard?.placements[name] }

    public var shardOwnerRanks: [Int] {
        (0..<stages).flatMap { stage in
            (0..<layout.tensorWidth).map { layout.worldRank(of: .init(data: 0, pipeline: stage, tensor: $0)) }
        }.sorted()
    }

    public func prepare(model: Model, configHash: UInt64) throws {
        if model.hasSynchronizedStatistics && layout.dataParallelSize > 1 {
            throw ParallelLayout.LayoutError(description: "synchronized batch normalization runs under data parallelism alone, not with \(ParallelLayout.describe(pipelineStages: stages, tensorWidth: layout.tensorWidth))")
        }
        let (partition, costs) = try partitioning.partition(model, stages: stages, microBatchRows: profileRows, world: layout.world)
        let shard = try ModelShard(model: model, layers: partition.layers(ofStage: stage),
                                   tensorGroup: layout.tensorWidth > 1 ? TensorGroup(communicator: layout.tensorGroup) : nil)
        try ModelConsistency.verify(shard.parameters, configHash: configHash, layout: layout)
        if layout.dataParallelSize > 1 {
            let parallel = try DataParallel(parameters: shard.parameters, communicator: layout.dataGroup,
                                            bucketBytes: bucketBytes, overlap: false)
            try parallel.broadcastModelState(root: 0)
            dataParallel = parallel
        }
        self.partition = partition
        self.shard = shard
        upstreamEmbedding = model.root.layers[..<partition.layers(ofStage: stage).lowerBound]
            .compactMap { $0 as? Embedding }.last { $0.paddingID != nil }
        plan = try describePlan(model: model, partition: partition, costs: costs)
        // The rank trains its shard only: the whole model's values (built once, so every
        // shard starts from the unsharded initialization) need not stay in memory.
        model.parameters.releaseStorage()
    }

    public func computeGradients(_ batches: [MicroBatch], model: Model, loss: Loss, step: Int,
                                 generator: inout RandomGenerator) throws -> [MicroBatchOutcome] {
        guard let shard else { preconditionFailure("ModelParallelStep used before prepare(model:configHash:)") }
        for group in [layout.world, layout.dataGroup, layout.pipelineGroup, layout.tensorGroup] { group.step = step }
        try synchronizeBuffers()
        // The ranks of a tensor group compute their replicated layers alike: one dropout stream.
        if layout.tensorWidth > 1 {
            let words = try layout.tensorGroup.broadcast(generator.state.map { Int64(bitPattern: $0) }, root: 0)
            generator = RandomGenerator(state: words.map { UInt64(bitPattern: $0) })
        }
        lastProfile = PipelineStageProfile()
        var outcomes: [MicroBatchOutcome] = []
        for batch in batches where batch.sampleCount > 0 {
            let pieces = batch.split(into: min(microBatches, batch.sampleCount))
            let schedule = try self.schedule(for: pieces.count)
            let lastStageOutcomes = try run(schedule, pieces: pieces, shard: shard, loss: loss, step: step, generator: &generator)
            outcomes.append(try shareOutcome(isLastStage ? .joining(lastStageOutcomes) : nil, of: batch, model: model))
        }
        if let dataParallel {
            dataParallel.prepare(synchronize: true)
            try dataParallel.finish()
        }
        return outcomes
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

    public func synchronizeBuffers() throws {
        guard let shard, layout.dataParallelSize > 1, !shard.parameters.bufferSlots.isEmpty else { return }
        try shard.parameters.withBuffers { try layout.dataGroup.broadcast($0, root: 0) }
    }

    public func synchronizeModelState() throws {
        try dataParallel?.broadcastModelState(root: 0)
    }

    public func allShardsAgree(_ value: Bool) throws -> Bool {
        try layout.world.allreduce([value ? 1 : 0] as [Int32], operation: .min)[0] == 1
    }

    /// ‖g‖² over the whole model: each stage's and tensor slice's share, replicated
    /// parameters counted once.
    public func gradientSquaredNorm(of parameters: ParameterStore) throws -> Double {
        var local = 0.0
        for slot in parameters.slots where shard?.isReplicatedAcrossTensorGroup(slot) != true || layout.coordinates.tensor == 0 {
            parameters.withGradient(slot) { for g in $0 { local += Double(g) * Double(g) } }
        }
        // Data replicas hold the same averaged gradients: sum over one replica's shards.
        let sums = try layout.world.allreduce([layout.coordinates.data == 0 ? local : 0], operation: .sum)
        return sums[0]
    }

    /// The stages' layers, costs and sizes, as printed at start-up.
    func describePlan(model: Model, partition: PipelinePartition, costs: [Double]) throws -> String {
        let counts = try layout.world.allgather([Int64(shard!.parameters.count)])
        var lines = ["pipeline: \(stages) stage\(stages == 1 ? "" : "s") × \(layout.tensorWidth) tensor slice\(layout.tensorWidth == 1 ? "" : "s") × \(layout.dataParallelSize) data replica\(layout.dataParallelSize == 1 ? "" : "s"), schedule \(scheduleKind.rawValue), \(microBatches) micro-batch\(microBatches == 1 ? "" : "es") per batch, partition by \(partitioning.name)"]
        for stage in 0..<stages {
            let range = partition.layers(ofStage: stage)
            let kinds = range.map { "\($0):\(model.layers[$0].type)" }.joined(separator: " ")
            let cost = costs.isEmpty ? "" : String(format: ", cost %.3g", range.reduce(0.0) { $0 + costs[$1] })
            let ranks = (0..<layout.tensorWidth).map { tensor in
                layout.worldRank(of: .init(data: 0, pipeline: stage, tensor: tensor))
            }
            let sizes = ranks.map { String(counts[$0][0]) }.joined(separator: "+")
            let members = (0..<layout.dataParallelSize).flatMap { data in
                (0..<layout.tensorWidth).map { layout.worldRank(of: .init(data: data, pipeline: stage, tensor: $0)) }
            }.sorted().map(String.init).joined(separator: ",")
            lines.append("  stage \(stage) (rank\(members.contains(",") ? "s" : "") \(members)): layers \(kinds) — \(sizes) parameters\(cost)")
        }
        return lines.joined(separator: "\n")
    }
}

extension PipelinePartitioning {
    var name: String {
        switch self {
        case .parameters: return "parameter count"
        case .time: return "profiled time"
        case .boundaries(let starts): return "boundaries \(starts)"
        }
    }
}
