/// The metrics a training config may name in `metrics:`, and which way each is better:
/// the one list that training (best values, `mode: auto` of the callbacks), sweeps
/// (objectives) and reports (best-epoch markers) read. It lives in FlockStore, the lowest
/// module that both FlockTrain and FlockReport import.
public enum MetricName: String, CaseIterable, Sendable {
    case accuracy, precision, recall, f1, mse, rmse, mae, r2
    /// ROC-AUC (binary; macro one-vs-rest for more classes), from 200-bucket histograms.
    case auc

    public var isClassification: Bool {
        switch self {
        case .accuracy, .precision, .recall, .f1, .auc: return true
        default: return false
        }
    }

    /// The metrics a config without `metrics:` gets: accuracy for classification, MSE for
    /// regression.
    public static func defaults(classification: Bool) -> [MetricName] { classification ? [.accuracy] : [.mse] }

    /// Whether larger is better: scores (accuracy, precision, recall, f1, auc, r2) go up,
    /// errors (mse, rmse, mae) down.
    public var higherIsBetter: Bool {
        switch self {
        case .mse, .rmse, .mae: return false
        default: return true
        }
    }

    /// Whether a larger value of the logged quantity `name` (`loss`, `accuracy`,
    /// `val_f1`) is better: a metric's direction, with or without `val_`; losses and
    /// names that are not metrics go down.
    public static func higherIsBetter(_ name: String) -> Bool {
        let base = name.hasPrefix("val_") ? String(name.dropFirst(4)) : name
        return MetricName(rawValue: base)?.higherIsBetter ?? false
    }
}
