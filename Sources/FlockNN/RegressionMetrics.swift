/// Running sums from which MSE, RMSE, MAE and R² follow; mergeable across batches and ranks.
public struct RegressionMetrics: Sendable, Equatable {
    public private(set) var count = 0
    public private(set) var sumSquaredError = 0.0
    public private(set) var sumAbsoluteError = 0.0
    public private(set) var sumTarget = 0.0
    public private(set) var sumSquaredTarget = 0.0

    public init() {}

    /// The running sums `[count, Σ(p−t)², Σ|p−t|, Σt, Σt²]`, to be summed across ranks.
    public var sums: [Double] { [Double(count), sumSquaredError, sumAbsoluteError, sumTarget, sumSquaredTarget] }

    public init(sums: [Double]) {
        precondition(sums.count == 5, "regression metrics need 5 sums")
        count = Int(sums[0])
        sumSquaredError = sums[1]
        sumAbsoluteError = sums[2]
        sumTarget = sums[3]
        sumSquaredTarget = sums[4]
    }

    public mutating func add(predictions: [Float], targets: [Float]) {
        precondition(predictions.count == targets.count, "\(predictions.count) predictions for \(targets.count) targets")
        for (p, t) in zip(predictions, targets) {
            let error = Double(p) - Double(t)
            sumSquaredError += error * error
            sumAbsoluteError += abs(error)
            sumTarget += Double(t)
            sumSquaredTarget += Double(t) * Double(t)
        }
        count += predictions.count
    }

    public var meanSquaredError: Double { count == 0 ? 0 : sumSquaredError / Double(count) }
    public var rootMeanSquaredError: Double { meanSquaredError.squareRoot() }
    public var meanAbsoluteError: Double { count == 0 ? 0 : sumAbsoluteError / Double(count) }

    /// 1 − SS_res/SS_tot; 0 when the targets have no variance.
    public var rSquared: Double {
        guard count > 0 else { return 0 }
        let totalSumOfSquares = sumSquaredTarget - sumTarget * sumTarget / Double(count)
        return totalSumOfSquares <= 0 ? 0 : 1 - sumSquaredError / totalSumOfSquares
    }
}
