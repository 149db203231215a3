/// ROC-AUC from score histograms, one-vs-rest per class, as Keras' `AUC` computes it:
/// scores (probabilities in [0, 1]) fall into `bins` equal buckets, separately for
/// samples of the class and the others; the curve's points are the bucket edges and the
/// area is the trapezoid sum. The counts add up across batches, ranks and a resumed
/// epoch, where exact AUC would need every score kept.
///
/// ```swift
/// var curves = ROCCurves(classCount: 2)
/// curves.add(probabilities: [[0.9, 0.1], [0.2, 0.8]], labels: [0, 1])
/// curves.auc   // 1.0 (class 1 for two classes; macro mean over classes otherwise)
/// ```
public struct ROCCurves: Sendable, Equatable {
    public static let bins = 200
    public let classCount: Int
    /// Per class: `bins` counts of the class's samples, then `bins` of the others'.
    public private(set) var counts: [Double]

    public init(classCount: Int) {
        self.classCount = classCount
        counts = [Double](repeating: 0, count: classCount * 2 * Self.bins)
    }

    /// Counts saved with `counts`.
    public init(classCount: Int, counts: [Double]) {
        precondition(counts.count == classCount * 2 * Self.bins, "\(counts.count) counts for \(classCount) classes")
        self.classCount = classCount
        self.counts = counts
    }

    /// Adds samples: per sample, a probability per class and the class.
    public mutating func add(probabilities: [[Float]], labels: [Int]) {
        for (scores, label) in zip(probabilities, labels) {
            for (column, score) in scores.enumerated() where column < classCount {
                let bin = min(Self.bins - 1, max(0, Int(Double(score.isFinite ? score : 0) * Double(Self.bins))))
                counts[(column * 2 + (column == label ? 0 : 1)) * Self.bins + bin] += 1
            }
        }
    }

    /// Area under class `column`'s one-vs-rest ROC curve; nil when it has no positives or
    /// no negatives.
    public func auc(ofClass column: Int) -> Double? {
        let positives = counts[(column * 2) * Self.bins..<(column * 2 + 1) * Self.bins]
        let negatives = counts[(column * 2 + 1) * Self.bins..<(column * 2 + 2) * Self.bins]
        let totalPositive = positives.reduce(0, +), totalNegative = negatives.reduce(0, +)
        guard totalPositive > 0, totalNegative > 0 else { return nil }
        // Sweep the threshold from above the top bucket down: each bucket moves the point
        // (false-positive rate, true-positive rate) up and right; sum the trapezoids.
        var area = 0.0, truePositive = 0.0, falsePositive = 0.0
        for bin in stride(from: Self.bins - 1, through: 0, by: -1) {
            let nextTrue = truePositive + positives[positives.startIndex + bin]
            let nextFalse = falsePositive + negatives[negatives.startIndex + bin]
            area += (nextFalse - falsePositive) / totalNegative * (nextTrue + truePositive) / 2 / totalPositive
            truePositive = nextTrue
            falsePositive = nextFalse
        }
        return area
    }

    /// Binary (two classes): class 1's AUC; otherwise the mean over classes that have both
    /// positives and negatives (macro one-vs-rest, as scikit-learn's `roc_auc_score`).
    public var auc: Double {
        if classCount == 2 { return auc(ofClass: 1) ?? 0 }
        let areas = (0..<classCount).compactMap { auc(ofClass: $0) }
        return areas.isEmpty ? 0 : areas.reduce(0, +) / Double(areas.count)
    }
}
