import FlockComm
import FlockNN
import FlockStore
import FlockTensor
import Foundation

/// Accumulates a pass's loss and metric statistics batch by batch.
struct MetricAccumulator {
    let metrics: [MetricName]
    let loss: Loss
    let classCount: Int?
    private var lossSum = 0.0
    private var samples = 0
    private var confusion: ConfusionMatrix?
    private var regression = RegressionMetrics()
    /// Only when `auc` is asked for.
    private var curves: ROCCurves?

    /// Regression targets' standardization: metrics other than the loss are computed in
    /// the data's units.
    let targetScaling: TargetScaling?

    /// The step's phases when it has several: each one's mean loss is reported as
    /// `loss_<phase>` (a GAN's critic and generator losses).
    let phases: [String]
    /// Per phase: loss sum, samples.
    private var phaseSums: [Double]

    init(metrics: [MetricName], loss: Loss, classCount: Int?, targetScaling: TargetScaling? = nil, phases: [String] = []) {
        self.phases = phases
        phaseSums = [Double](repeating: 0, count: 2 * phases.count)
        self.metrics = metrics
        self.loss = loss
        self.classCount = classCount
        self.targetScaling = targetScaling
        confusion = classCount.map { ConfusionMatrix(classCount: $0) }
        curves = metrics.contains(.auc) ? classCount.map { ROCCurves(classCount: $0) } : nil
    }

    /// Adds a batch: its mean loss, the model's outputs (B, k) and the targets.
    mutating func add(meanLoss: Float, outputs: Tensor, targets: Tensor) {
        let count = targets.shape[0]
        lossSum += Double(meanLoss) * Double(count)
        samples += count
        // Class labels were checked to be small non-negative integers when the data was read.
        switch loss.reading {
        case .classLogits:
            confusion?.add(actual: targets.scalars.map { Int($0) }, predicted: outputs.argmaxRows())
            if curves != nil {
                let classes = outputs.count / max(count, 1), probabilities = Tensor.softmaxLastAxis(outputs.reshaped([count, classes]))
                curves!.add(probabilities: (0..<count).map { Array(probabilities.scalars[($0 * classes)..<(($0 + 1) * classes)]) },
                            labels: targets.scalars.map { Int($0) })
            }
        case let .binary(fromLogits):
            let threshold: Float = fromLogits ? 0 : 0.5
            confusion?.add(actual: targets.scalars.map { Int($0) }, predicted: outputs.scalars.map { $0 > threshold ? 1 : 0 })
            let positive = outputs.scalars.map { fromLogits ? 1 / (1 + Foundation.exp(-$0)) : $0 }
            curves?.add(probabilities: positive.map { [1 - $0, $0] }, labels: targets.scalars.map { Int($0) })
        case .values:
            // Embeddings against class labels (a triplet loss) have no regression metrics.
            guard outputs.count == targets.count else { break }
            let predictions = targetScaling?.undo(outputs) ?? outputs, actual = targetScaling?.undo(targets) ?? targets
            regression.add(predictions: predictions.scalars, targets: actual.scalars)
        }
    }

    /// Adds phase `phase`'s mean loss over `samples` (nothing without several phases).
    mutating func add(phase: Int, meanLoss: Float, samples: Int) {
        guard 2 * phase + 1 < phaseSums.count else { return }
        phaseSums[2 * phase] += Double(meanLoss) * Double(samples)
        phaseSums[2 * phase + 1] += Double(samples)
    }

    var confusionMatrix: ConfusionMatrix? { confusion }

    /// Mean loss over the samples added so far.
    var meanLoss: Double { samples == 0 ? 0 : lossSum / Double(samples) }

    /// Every running sum as one array: loss sum, samples, confusion counts, regression sums.
    var packedSums: [Double] {
        [lossSum, Double(samples)] + (confusion?.flatCounts.map(Double.init) ?? []) + regression.sums + (curves?.counts ?? []) + phaseSums
    }

    /// Takes back sums saved from `packedSums` (a checkpoint written mid-epoch).
    mutating func restore(packedSums packed: [Double]) {
        lossSum = packed[0]
        samples = Self.count(packed[1])
        var next = 2
        if let classes = confusion?.classCount {
            confusion = ConfusionMatrix(classCount: classes, flatCounts: packed[next..<(next + classes * classes)].map(Self.count))
            next += classes * classes
        }
        regression = RegressionMetrics(sums: Array(packed[next..<(next + 5)]))
        next += 5
        if let classes = curves?.classCount {
            curves = ROCCurves(classCount: classes, counts: packed[next..<(next + classes * 2 * ROCCurves.bins)].map { $0.isFinite ? max($0, 0) : 0 })
            next += classes * 2 * ROCCurves.bins
        }
        // Sums saved before phases were counted have none: start them at zero.
        if packed.count >= next + phaseSums.count { phaseSums = Array(packed[next..<(next + phaseSums.count)]) }
    }

    /// A count held as a Double, as an Int (clamped: a sum from a damaged checkpoint must
    /// not trap the conversion).
    private static func count(_ value: Double) -> Int {
        value.isFinite ? Int(Swift.min(Swift.max(value, 0), 1e15)) : 0
    }

    /// Every running sum, summed across ranks, so the result covers all ranks' samples
    /// exactly as one rank seeing them all would.
    mutating func reduce(across communicator: (any Communicator)?) throws {
        guard let communicator, communicator.size > 1 else { return }
        restore(packedSums: try communicator.allreduce(packedSums, operation: .sum))
    }

    /// `loss` plus each metric, names prefixed with `prefix` (`val_`).
    func values(prefix: String = "") -> [String: Double] {
        var result = ["\(prefix)loss": meanLoss]
        for metric in metrics {
            let value: Double
            switch metric {
            case .accuracy: value = confusion?.accuracy ?? 0
            case .precision: value = confusion?.macroPrecision ?? 0
            case .recall: value = confusion?.macroRecall ?? 0
            case .f1: value = confusion?.macroF1 ?? 0
            case .mse: value = regression.meanSquaredError
            case .rmse: value = regression.rootMeanSquaredError
            case .mae: value = regression.meanAbsoluteError
            case .r2: value = regression.rSquared
            case .auc: value = curves?.auc ?? 0
            }
            result["\(prefix)\(metric.rawValue)"] = value
        }
        for (index, phase) in phases.enumerated() where phaseSums[2 * index + 1] > 0 {
            result["\(prefix)loss_\(phase)"] = phaseSums[2 * index] / phaseSums[2 * index + 1]
        }
        return result
    }
}
