import FlockNN
import FlockStore

/// Multiplies the learning rate by `factor` when a monitored metric has not improved for
/// `patience` epochs (Keras' `ReduceLROnPlateau`, same semantics). The factor applies on
/// top of the schedule.
public struct ReduceLROnPlateau: Codable, Sendable, Equatable {
    public var monitor: String
    public var factor: Double
    public var patience: Int
    public var mode: MonitorMode
    /// A change smaller than this is no improvement.
    public var minDelta: Double
    /// Epochs to wait after a reduction before counting again.
    public var cooldown: Int
    /// The learning rate never goes below this.
    public var minLR: Double

    public struct State: Codable, Sendable, Equatable {
        public var wait = 0
        public var cooldownCounter = 0
        public var best: Double?
    }

    public var state = State()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case monitor, factor, patience, mode, cooldown
        case minDelta = "min_delta"
        case minLR = "min_lr"
    }

    public init(monitor: String = "val_loss", factor: Double = 0.1, patience: Int = 10, mode: MonitorMode = .auto,
                minDelta: Double = 1e-4, cooldown: Int = 0, minLR: Double = 0) {
        self.monitor = monitor
        self.factor = factor
        self.patience = patience
        self.mode = mode
        self.minDelta = minDelta
        self.cooldown = cooldown
        self.minLR = minLR
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(monitor: try c.value(.monitor, or: "val_loss"), factor: try c.value(.factor, or: 0.1),
                  patience: try c.value(.patience, or: 10), mode: try c.value(.mode, or: .auto),
                  minDelta: try c.value(.minDelta, or: 1e-4), cooldown: try c.value(.cooldown, or: 0),
                  minLR: try c.value(.minLR, or: 0))
    }

    /// Feeds an epoch's metrics and the learning rate in force; returns the new learning
    /// rate when it should drop.
    public mutating func epochEnded(metrics: [String: Double], learningRate: Double) -> Double? {
        guard let current = metrics[monitor] else { return nil }
        if state.cooldownCounter > 0 {
            state.cooldownCounter -= 1
            state.wait = 0
        }
        let improved: Bool
        if let best = state.best {
            improved = mode.resolved(for: monitor) == .max ? current > best + minDelta : current < best - minDelta
        } else {
            improved = true
        }
        if improved {
            state.best = current
            state.wait = 0
            return nil
        }
        // As Keras: still cooling down if the counter has not reached 0 after this epoch.
        guard state.cooldownCounter == 0 else { return nil }
        state.wait += 1
        guard state.wait >= patience, learningRate > minLR else { return nil }
        state.cooldownCounter = cooldown
        state.wait = 0
        return max(learningRate * factor, minLR)
    }

    func validate(path: String, monitorable: [String]) throws {
        try Check.oneOf(monitor, monitorable, "\(path).monitor", what: "metric")
        try Check.inRange(factor, 0, 1, "\(path).factor")
        try Check.positive(factor, "\(path).factor")
        try Check.nonNegative(patience, "\(path).patience")
        try Check.nonNegative(cooldown, "\(path).cooldown")
        try Check.nonNegative(minDelta, "\(path).min_delta")
        try Check.nonNegative(minLR, "\(path).min_lr")
    }
}
