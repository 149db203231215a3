import FlockNN
import FlockStore

/// `metrics: [accuracy, f1]` is a closed choice: an unknown name is an error naming the
/// entry and listing the metrics (`metrics[1]: unknown value 'f2' (expected one of: …)`).
extension MetricName: ConfigChoice {}
