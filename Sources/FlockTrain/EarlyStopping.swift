import FlockNN
import FlockStore

/// Stops training when a monitored metric has stopped improving (Keras' `EarlyStopping`,
/// same names and semantics, including Keras 3's restoring of the best weights at the end
/// of training whether or not it stopped early).
public struct EarlyStopping: Codable, Sendable, Equatable {
    public var monitor: String
    /// An improvement must beat the best by more than this.
    public var minDelta: Double
    /// Epochs without improvement before stopping.
    public var patience: Int
    public var mode: MonitorMode
    /// Training stops unless the monitor beats this within `patience` epochs.
    public var baseline: Double?
    /// At the end of training, put back the weights of the best epoch.
    public var restoreBestWeights: Bool
    /// Epochs before monitoring starts (warm-up).
    public var startFromEpoch: Int

    /// What it has seen so far; saved in checkpoints.
    public struct State: Codable, Sendable, Equatable {
        public var wait = 0
        public var best: Double?
        public var bestEpoch: Int?
        public var stoppedEpoch: Int?
        /// Whether best weights have been captured (they travel in `best_model.safetensors`).
        public var hasBestWeights = false
    }

    public var state = State()

    /// What the trainer must do after an epoch.
    public struct Decision: Equatable {
        /// Snapshot the current weights as the best.
        public var captureWeights = false
        public var stop = false
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case monitor, patience, mode, baseline
        case minDelta = "min_delta"
        case restoreBestWeights = "restore_best_weights"
        case startFromEpoch = "start_from_epoch"
    }

    public init(monitor: String = "val_loss", minDelta: Double = 0, patience: Int = 0, mode: MonitorMode = .auto,
                baseline: Double? = nil, restoreBestWeights: Bool = false, startFromEpoch: Int = 0) {
        self.monitor = monitor
        self.minDelta = abs(minDelta)
        self.patience = patience
        self.mode = mode
        self.baseline = baseline
        self.restoreBestWeights = restoreBestWeights
        self.startFromEpoch = startFromEpoch
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(monitor: try c.value(.monitor, or: "val_loss"), minDelta: try c.value(.minDelta, or: 0),
                  patience: try c.value(.patience, or: 0), mode: try c.value(.mode, or: .auto),
                  baseline: try c.decodeIfPresent(Double.self, forKey: .baseline),
                  restoreBestWeights: try c.value(.restoreBestWeights, or: false),
                  startFromEpoch: try c.value(.startFromEpoch, or: 0))
    }

    /// `value` beats `reference` by more than min_delta in the monitored direction.
    func isImprovement(_ value: Double, over reference: Double?) -> Bool {
        guard let reference else { return true }
        return mode.resolved(for: monitor) == .max ? value - minDelta > reference : value + minDelta < reference
    }

    /// Feeds the metrics of 0-based epoch `epoch`.
    public mutating func epochEnded(_ epoch: Int, metrics: [String: Double]) -> Decision {
        var decision = Decision()
        guard let current = metrics[monitor], epoch >= startFromEpoch else { return decision }
        if restoreBestWeights && !state.hasBestWeights {
            // Until something improves, the first monitored weights are the best.
            decision.captureWeights = true
            state.hasBestWeights = true
            state.bestEpoch = epoch
        }
        state.wait += 1
        if isImprovement(current, over: state.best) {
            state.best = current
            state.bestEpoch = epoch
            if restoreBestWeights { decision.captureWeights = true }
            // Only restart the wait when the baseline is beaten too.
            if baseline == nil || isImprovement(current, over: baseline) { state.wait = 0 }
            return decision
        }
        if state.wait >= patience && epoch > 0 {
            state.stoppedEpoch = epoch
            decision.stop = true
        }
        return decision
    }

    func validate(path: String, monitorable: [String]) throws {
        try Check.oneOf(monitor, monitorable, "\(path).monitor", what: "metric")
        try Check.nonNegative(minDelta, "\(path).min_delta")
        try Check.nonNegative(patience, "\(path).patience")
        try Check.nonNegative(startFromEpoch, "\(path).start_from_epoch")
    }
}
