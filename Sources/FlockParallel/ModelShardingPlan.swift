import FlockNN
import FlockTensor
import Foundation

/// Pipeline stages and tensor slices: the model's layers cut into stages (by parameter
/// count, profiled time or explicit boundaries), each stage's layers split across a
/// tensor group, replicated across the data group. Each rank builds its shard from the
/// whole model's initial values, then frees the whole model's storage.
public final class ModelShardingPlan: ShardingPlan {
    public let parallelLayout: ParallelLayout
    public let partitioning: PipelinePartitioning
    /// Samples per micro-batch when partitioning by profiled time.
    public let profileRows: Int
    /// Set by `prepare`.
    public private(set) var partition: PipelinePartition?
    public private(set) var shard: ModelShard?
    /// Start-up plan: the stages' layers, costs and shard sizes (for the log).
    public private(set) var summary = ""
    /// The schedule's description for the log's first line (set by the step).
    var scheduleDescription = ""

    /// ZeRO stage 3: the shard is built as a description, its values made row by row by
    /// the gradient sync (``ReduceScatterGradientSync``).
    public var describesShard = false

    public init(layout: ParallelLayout, partitioning: PipelinePartitioning = .parameters, profileRows: Int = 32) {
        parallelLayout = layout
        self.partitioning = partitioning
        self.profileRows = max(1, profileRows)
    }

    public var layout: ParallelLayout? { parallelLayout }
    var stage: Int { parallelLayout.coordinates.pipeline }
    var stages: Int { parallelLayout.pipelineStages }

    public func prepare(model: Model) throws {
        let layout = parallelLayout
        if model.hasSynchronizedStatistics && layout.dataParallelSize > 1 {
            throw ParallelLayout.LayoutError(description: "synchronized batch normalization runs under data parallelism alone, not with \(ParallelLayout.describe(pipelineStages: stages, tensorWidth: layout.tensorWidth))")
        }
        let (partition, costs) = try partitioning.partition(model, stages: stages, microBatchRows: profileRows, world: layout.world)
        let shard = try ModelShard(model: model, layers: partition.layers(ofStage: stage),
                                   tensorGroup: layout.tensorWidth > 1 ? TensorGroup(communicator: layout.tensorGroup) : nil,
                                   describedOnly: describesShard)
        self.partition = partition
        self.shard = shard
        summary = try describe(model: model, partition: partition, costs: costs)
        // The rank trains its shard only: the whole model's values (built once, so every
        // shard starts from the unsharded initialization) need not stay in memory.
        model.parameters.releaseStorage()
    }

    public func parameters(of model: Model) -> ParameterStore { shard?.parameters ?? model.parameters }

    public var shardName: String? { "stage-\(stage).tensor-\(parallelLayout.coordinates.tensor)" }

    public func placement(ofTensor name: String) -> ShardPlacement? { shard?.placements[name] }

    public var shardOwnerRanks: [Int] {
        (0..<stages).flatMap { stage in
            (0..<parallelLayout.tensorWidth).map { parallelLayout.worldRank(of: .init(data: 0, pipeline: stage, tensor: $0)) }
        }.sorted()
    }

    public func allShardsAgree(_ value: Bool) throws -> Bool {
        try parallelLayout.world.allreduce([value ? 1 : 0] as [Int32], operation: .min)[0] == 1
    }

    /// Each stage's and tensor slice's share, replicated parameters counted once.
    public func squaredNorm(of parameters: ParameterStore, slots: [ParameterSlot], rows: OptimizerStateShard?) throws -> Double {
        let counted = slots.filter { shard?.isReplicatedAcrossTensorGroup($0) != true || parallelLayout.coordinates.tensor == 0 }
        let local = Self.localSquaredNorm(of: parameters, slots: counted, rows: rows)
        // Data replicas hold the same averaged gradients: sum over one replica's shards,
        // or under ZeRO stage 2 over every data rank's rows.
        let counts = rows != nil || parallelLayout.coordinates.data == 0
        let sums = try parallelLayout.world.allreduce([counts ? local : 0], operation: .sum)
        return sums[0]
    }

    /// The stages' layers, costs and sizes, as printed at start-up.
    func describe(model: Model, partition: PipelinePartition, costs: [Double]) throws -> String {
        let layout = parallelLayout
        let counts = try layout.world.allgather([Int64(shard!.parameters.count)])
        var lines = ["pipeline: \(stages) stage\(stages == 1 ? "" : "s") × \(layout.tensorWidth) tensor slice\(layout.tensorWidth == 1 ? "" : "s") × \(layout.dataParallelSize) data replica\(layout.dataParallelSize == 1 ? "" : "s"), \(scheduleDescription)partition by \(partitioning.name)"]
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
