import FlockStore

/// Whether a monitored metric should go down (`min`) or up (`max`); `auto` decides from
/// the name: scores (accuracy, precision, recall, f1, r2) go up, losses and errors down.
public enum MonitorMode: String, Codable, Sendable, CaseIterable {
    case auto, min, max

    public func resolved(for monitor: String) -> MonitorMode {
        guard self == .auto else { return self }
        return MetricName.higherIsBetter(monitor) ? .max : .min
    }

    /// The metric names a config may monitor: `loss` and its metrics, with or without `val_`.
    public static func monitorable(_ config: TrainingConfig) -> [String] {
        let names = ["loss"] + config.resolvedMetrics.map(\.rawValue)
        return names + (config.data.validationSplit > 0 ? names.map { "val_\($0)" } : [])
    }
}
