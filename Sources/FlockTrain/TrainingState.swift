import FlockStore
import FlockTensor
import Foundation

/// Everything besides weights and optimizer buffers that an exact resume needs, as
/// written to a checkpoint's `state.json`.
public struct TrainingState: Codable, Sendable, Equatable {
    /// 1: the first; 2: written beside `manifest.json` (a checksum of this file).
    public var formatVersion = TrainingState.currentFormatVersion
    public static let currentFormatVersion = 2
    /// Epochs completed.
    public var epoch: Int
    /// Global batches done in the current epoch (0 at an epoch boundary).
    public var batchInEpoch: Int
    /// Optimizer steps taken.
    public var step: Int
    /// Factor ReduceLROnPlateau (or a NaN rollback) has applied to the schedule.
    public var learningRateScale: Double
    /// Each rank's dropout generator, by rank.
    public var dropoutGenerators: [RandomGenerator]
    /// Each callback's state by its key (`early_stopping`, `model_checkpoint`, a user's own).
    public var callbacks: [String: JSONValue]
    /// Best value per metric so far (for `summary.json`).
    public var best: [String: Double]
    /// Training samples and seconds so far (for `summary.json`'s throughput).
    public var samplesSeen: Int
    public var trainingSeconds: Double
    /// The metrics of the last completed epoch.
    public var lastMetrics: [String: Double]
    /// FNV-1a of the resolved config; `config.yaml` beside it says what it was.
    public var configHash: String
    public var worldSize: Int
    /// SHA-256 of every other file of the checkpoint.
    public var files: [String: String]
    /// For a checkpoint written mid-epoch, each rank's running metric sums of that epoch
    /// so far (loss, samples, confusion counts, regression sums), so the resumed epoch
    /// reports metrics over all its batches.
    public var epochMetricSums: [[Double]]? = nil
    /// How the writing job's ranks were laid out (absent: data parallel over `worldSize`).
    public var layout: LayoutRecord? = nil
    /// The matrix products' precision the run trained in (absent: float32); resume keeps it.
    public var precision: MatrixPrecision? = nil
    /// The kernel each Conv2D shape ran on (absent: chosen afresh); resume keeps them.
    public var convolutions: [ConvolutionChoice]? = nil
    /// The library each Float32 matrix-product shape ran on (absent: chosen afresh, or
    /// bf16); resume keeps them.
    public var matrixProducts: [MatrixProductChoice]? = nil
    /// Each tensor file's block checksums, so a rank reads and checks only the blocks it
    /// needs (absent in older checkpoints: their files are read and checked whole).
    public var fileBlocks: [String: BlockDigests]? = nil
    /// Set on the checkpoint of the epoch a callback ended training at (absent: it did not).
    public var stoppedEarly: Bool? = nil

    /// A job's layout as `state.json` records it.
    public struct LayoutRecord: Codable, Sendable, Equatable {
        public var data: Int
        public var pipeline: Int
        public var tensor: Int
    }

    enum CodingKeys: String, CodingKey {
        case epoch, step, callbacks, best, files
        case formatVersion = "format_version"
        case batchInEpoch = "batch_in_epoch"
        case learningRateScale = "learning_rate_scale"
        case dropoutGenerators = "dropout_generators"
        case samplesSeen = "samples_seen"
        case trainingSeconds = "training_seconds"
        case lastMetrics = "last_metrics"
        case configHash = "config_hash"
        case worldSize = "world_size"
        case epochMetricSums = "epoch_metric_sums"
        case layout, precision, convolutions
        case matrixProducts = "matrix_products"
        case fileBlocks = "file_blocks"
        case stoppedEarly = "stopped_early"
    }
}

extension TrainingState {
    /// Reads a `state.json`: non-finite numbers as `FlockJSON` writes them, or as
    /// checkpoints from before it wrote them ("nan", "inf", "-inf").
    public static func decoded(from data: Data) throws -> TrainingState {
        do { return try JSONValue.decoder.decode(TrainingState.self, from: data) } catch {
            guard let legacy = try? JSONValue.legacyDecoder.decode(TrainingState.self, from: data) else { throw error }
            return legacy
        }
    }

    /// Where ModelCheckpoint's and TerminateOnNaN's states go in `callbacks` (the trainer's own keys).
    public static let modelCheckpointKey = "model_checkpoint"
    public static let terminateOnNaNKey = "terminate_on_nan"

    /// The checkpoints ModelCheckpoint kept when this state was written, oldest first.
    public var keptCheckpoints: [String]? {
        (try? callbacks[Self.modelCheckpointKey]?.decode(ModelCheckpoint.State.self))?.kept.map(\.name)
    }
}
