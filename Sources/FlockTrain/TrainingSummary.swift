import FlockStore

/// One epoch's results: `loss` and metrics on the training data, `val_`-prefixed ones
/// on the validation split, the learning rate at the epoch's end and the throughput.
public struct EpochRecord: Sendable {
    public let epoch: Int
    public let metrics: [String: Double]
    public let learningRate: Float
    public let seconds: Double
    public let samplesPerSecond: Double
    /// Best value of each metric up to and including this epoch.
    public let best: [String: Double]
    /// Each phase's learning rate in the epoch's last step, by phase name, when the step
    /// has several phases or one with its own schedule (`metrics.jsonl`: `lr_<phase>`).
    public var phaseLearningRates: [String: Float] = [:]
}

/// What `summary.json` holds.
public struct TrainingSummary: Codable, Sendable, Equatable {
    public var epochsRun: Int
    /// Best value of each metric over the epochs (lowest loss/error, highest score).
    public var best: [String: Double]
    /// Values of the last epoch.
    public var final: [String: Double]
    public var stoppedEarly: Bool
    public var worldSize: Int
    /// Training samples per second over all epochs (validation excluded).
    public var samplesPerSecond: Double
    /// The BLAS kernel the run used and how it was chosen.
    public var blas: BLASChoice? = nil
    /// The restarts of a supervised job (`--np N`); absent for a job that ran unsupervised.
    public var restarts: [JobRestart]? = nil
    /// The matrix products' precision the run used and why.
    public var precision: PrecisionRecord? = nil
    /// Each rank's peak resident memory in bytes over the whole run, by rank (ranks run as
    /// threads share one process and one figure).
    public var peakResidentBytes: [Int64]? = nil

    enum CodingKeys: String, CodingKey {
        case best, final, blas, restarts, precision
        case peakResidentBytes = "peak_resident_bytes"
        case epochsRun = "epochs_run"
        case stoppedEarly = "stopped_early"
        case worldSize = "world_size"
        case samplesPerSecond = "samples_per_second"
    }
}

/// Progress inside an epoch, for progress bars.
public struct BatchProgress: Sendable {
    /// 1-based.
    public let epoch: Int
    public let batchesDone: Int
    public let batches: Int
    /// Mean training loss so far this epoch (this rank).
    public let loss: Double
    /// Seconds since the epoch started.
    public let seconds: Double
    /// Samples (all ranks) trained on so far this epoch.
    public let samples: Int
    public var samplesPerSecond: Double { Double(samples) / max(seconds, 1e-9) }
}

/// Best value of each metric: lowest for losses and errors, highest for scores.
struct BestValueTracker {
    private(set) var best: [String: Double] = [:]

    init(best: [String: Double] = [:]) { self.best = best }

    mutating func observe(_ metrics: [String: Double]) {
        for (name, value) in metrics {
            let higherIsBetter = MetricName.higherIsBetter(name)
            if let current = best[name] {
                best[name] = higherIsBetter ? Swift.max(current, value) : Swift.min(current, value)
            } else {
                best[name] = value
            }
        }
    }
}
