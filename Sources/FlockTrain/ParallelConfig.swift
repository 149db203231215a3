import FlockComm
import FlockNN
import FlockParallel

/// How a job's ranks split the work: `pipeline` stages × `tensor` slices, the remaining
/// ranks data parallel (world = data × pipeline × tensor). `data.batch_size` is the global
/// batch: each of the D data-parallel replicas reads batch_size/D samples per step.
///
/// ```yaml
/// parallel: {pipeline: 2, tensor: 1, schedule: 1f1b, micro_batches: 4, partition: parameters}
/// ```
public struct ParallelConfig: Codable, Equatable, Sendable {
    /// Gradient bucket size in MB (allreduce starts per bucket during backward).
    public var bucketMB: Double
    /// Optimizer step every this many batches, gradients accumulated in between.
    public var accumulate: Int
    /// Overlap bucket allreduces with backward.
    public var overlap: Bool
    /// Seconds a collective waits for peers before the job fails
    /// (default: FLOCK_COLLECTIVE_TIMEOUT or 300).
    public var collectiveTimeout: Double?
    /// Pipeline stages (P).
    public var pipeline: Int
    /// Tensor-parallel slices of each stage's Dense layers (T).
    public var tensor: Int
    /// The pipeline schedule: gpipe, 1f1b or zb-h1.
    public var schedule: PipelineScheduleKind
    /// Pieces each batch is cut into for the pipeline (M).
    public var microBatches: Int
    /// How layers are cut into stages.
    public var partition: PartitionConfig
    /// Gradients crossing hosts as 16-bit values with error feedback (none, bf16, fp16).
    public var compression: WireCompression
    /// Sharded data parallelism (ZeRO stage): 0 off; 1 each data rank keeps and updates
    /// the optimizer's state of its rows of every parameter only.
    public var zero: Int
    /// Activation recomputation: `blocks` recomputes every top-level residual and
    /// Transformer encoder block (as `recompute: true` on each).
    public var recompute: Recompute
    /// Under `zero: 3`, whether the next layer's rows are gathered while a layer runs
    /// (FSDP's prefetch); `false` gathers each layer only when it is about to run, so the
    /// two can be timed against each other.
    public var prefetch: Bool

    /// `parallel.recompute`.
    public enum Recompute: String, ConfigChoice {
        case none, blocks
        /// The layer kinds `blocks` recomputes.
        static let blockTypes: Set<String> = ["residual", "transformer_encoder"]
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case accumulate, overlap, pipeline, tensor, schedule, partition, compression, recompute, zero, prefetch
        case bucketMB = "bucket_mb"
        case collectiveTimeout = "collective_timeout"
        case microBatches = "micro_batches"
    }

    public init() {
        bucketMB = ParallelConfig.defaultBucketMB
        accumulate = 1
        overlap = true
        pipeline = 1
        tensor = 1
        schedule = .oneForwardOneBackward
        microBatches = 4
        partition = .parameters
        compression = .none
        recompute = .none
        zero = 0
        prefetch = true
    }

    /// Chosen with `flock bench ddp` on the 2-core development machine (see README).
    public static let defaultBucketMB = 1.0

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bucketMB = try c.value(.bucketMB, or: ParallelConfig.defaultBucketMB)
        accumulate = try c.value(.accumulate, or: 1)
        overlap = try c.value(.overlap, or: true)
        collectiveTimeout = try c.decodeIfPresent(Double.self, forKey: .collectiveTimeout)
        pipeline = try c.value(.pipeline, or: 1)
        tensor = try c.value(.tensor, or: 1)
        let scheduleName = try c.value(.schedule, or: PipelineScheduleKind.oneForwardOneBackward.rawValue)
        guard let schedule = PipelineScheduleKind(rawValue: scheduleName) else {
            throw ConfigError(path: decoder.fieldPath(CodingKeys.schedule),
                              "unknown schedule '\(scheduleName)' (expected one of: \(PipelineScheduleKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.schedule = schedule
        microBatches = try c.value(.microBatches, or: 4)
        partition = try c.value(.partition, or: .parameters)
        let compressionName = try c.value(.compression, or: WireCompression.none.rawValue)
        guard let compression = WireCompression(rawValue: compressionName) else {
            throw ConfigError(path: decoder.fieldPath(CodingKeys.compression),
                              "unknown compression '\(compressionName)' (expected one of: \(WireCompression.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.compression = compression
        recompute = try c.value(.recompute, or: .none)
        zero = try c.value(.zero, or: 0)
        prefetch = try c.value(.prefetch, or: true)
    }

    /// The model-parallel fields are written only for a model-parallel job, so a data-parallel
    /// config (and the checkpoints it wrote) reads as before they existed.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(accumulate, forKey: .accumulate)
        try c.encode(overlap, forKey: .overlap)
        try c.encode(bucketMB, forKey: .bucketMB)
        try c.encodeIfPresent(collectiveTimeout, forKey: .collectiveTimeout)
        // Written only when on, so configs and checkpoints from before it read the same.
        if compression != .none { try c.encode(compression.rawValue, forKey: .compression) }
        if recompute != .none { try c.encode(recompute, forKey: .recompute) }
        if zero != 0 { try c.encode(zero, forKey: .zero) }
        if !prefetch { try c.encode(prefetch, forKey: .prefetch) }
        // The model-parallel fields: all of them for a model-parallel job, otherwise those
        // set to other than their defaults (kept so the resolved config says what was asked).
        let defaults = ParallelConfig()
        if isModelParallel || pipeline != defaults.pipeline { try c.encode(pipeline, forKey: .pipeline) }
        if isModelParallel || tensor != defaults.tensor { try c.encode(tensor, forKey: .tensor) }
        if isModelParallel || schedule != defaults.schedule { try c.encode(schedule, forKey: .schedule) }
        if isModelParallel || microBatches != defaults.microBatches { try c.encode(microBatches, forKey: .microBatches) }
        if isModelParallel || partition != defaults.partition { try c.encode(partition, forKey: .partition) }
    }

    func validate(path: String) throws {
        try Check.positive(bucketMB, atMost: 1_048_576, "\(path).bucket_mb")
        try Check.within(accumulate, 1, 1_000_000, "\(path).accumulate")
        if let collectiveTimeout {
            try Check.positive(collectiveTimeout, atMost: CollectiveDeadline.maximumSeconds, "\(path).collective_timeout")
        }
        try Check.within(pipeline, 1, 4096, "\(path).pipeline")
        try Check.within(tensor, 1, 4096, "\(path).tensor")
        try Check.within(microBatches, 1, 4096, "\(path).micro_batches")
        guard (0...3).contains(zero) else {
            throw ConfigError(path: "\(path).zero", "expected 0 (off), 1 (optimizer state sharded), 2 (gradients too) or 3 (parameters too), got \(zero)")
        }
        if !prefetch && zero != 3 {
            throw ConfigError(path: "\(path).prefetch", "only zero 3 gathers weights to prefetch; set zero: 3 or leave prefetch out")
        }
        if zero == 3 && isModelParallel && partition.partitioning == .time {
            throw ConfigError(path: "\(path).partition", "zero 3 starts each rank from its own rows of its stage; partitioning by profiled time runs the whole model first (partition by parameters or name the boundaries)")
        }
        if compression != .none && zero >= 2 {
            throw ConfigError(path: "\(path).compression", "compression applies to allreduced gradients, not to zero 2's reduce-scatter")
        }
        if compression != .none && isModelParallel {
            throw ConfigError(path: "\(path).compression",
                              "compression applies to data-parallel gradients only, not to a job with pipeline or tensor parallelism")
        }
    }

    public var bucketBytes: Int { max(1, Int(bucketMB * 1_048_576)) }

    /// Whether the model is sharded (pipeline stages or tensor slices).
    public var isModelParallel: Bool { pipeline > 1 || tensor > 1 }
}

/// `partition: parameters | time | [first layer of stage 1, …]`.
public enum PartitionConfig: Codable, Equatable, Sendable {
    case parameters
    case time
    case boundaries([Int])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let boundaries = try? container.decode([Int].self) {
            self = .boundaries(boundaries)
            return
        }
        let name = try? container.decode(String.self)
        switch name {
        case "parameters": self = .parameters
        case "time": self = .time
        default:
            throw ConfigError(path: ConfigError.render(decoder.codingPath),
                              "expected parameters, time or a list of stage boundaries (the first layer of stages 1, 2, …), got \(name.map { "'\($0)'" } ?? "another value")")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .parameters: try container.encode("parameters")
        case .time: try container.encode("time")
        case .boundaries(let starts): try container.encode(starts)
        }
    }

    var partitioning: PipelinePartitioning {
        switch self {
        case .parameters: return .parameters
        case .time: return .time
        case .boundaries(let starts): return .boundaries(starts)
        }
    }
}
