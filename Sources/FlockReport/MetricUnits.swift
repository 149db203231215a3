/// Axis labels with units for the quantities a run logs.
enum MetricUnits {
    /// `accuracy (fraction of samples)`, `loss (cross_entropy)`, `rmse (target units)`.
    /// `lossName`: the run's `RunConfig.lossName`, nil when its config was not read.
    static func label(_ base: String, lossName: String?) -> String {
        switch base {
        case "loss":
            return lossName.map { "loss (\($0), per sample)" } ?? "loss (per sample)"
        case "accuracy": return "accuracy (fraction of samples)"
        case "precision", "recall", "f1": return "\(base) (macro average, 0–1)"
        case "auc": return "ROC AUC (0–1)"
        case "r2": return "R² (1 = perfect)"
        case "mse": return "mse (target units²)"
        case "rmse", "mae": return "\(base) (target units)"
        default: return base
        }
    }

    /// Spread wide enough that a log axis reads better (losses falling by orders of magnitude).
    static func wantsLogAxis(_ values: [Double]) -> Bool {
        let positive = values.filter { $0 > 0 && $0.isFinite }
        guard positive.count == values.count, let low = positive.min(), let high = positive.max() else { return false }
        return high / low > 30
    }
}
