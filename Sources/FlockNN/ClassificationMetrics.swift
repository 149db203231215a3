/// Counts of (actual, predicted) class pairs, from which accuracy, precision, recall
/// and F1 follow. Rows are actual classes, columns predicted (scikit-learn's layout).
public struct ConfusionMatrix: Sendable, Equatable, Codable {
    public let classCount: Int
    /// counts[actual][predicted]
    public private(set) var counts: [[Int]]

    public init(classCount: Int) {
        self.classCount = classCount
        counts = Array(repeating: Array(repeating: 0, count: classCount), count: classCount)
    }

    /// From counts laid out row-major (`classCount²` values), e.g. summed across ranks.
    public init(classCount: Int, flatCounts: [Int]) {
        precondition(flatCounts.count == classCount * classCount, "\(flatCounts.count) counts for \(classCount) classes")
        self.classCount = classCount
        counts = (0..<classCount).map { Array(flatCounts[($0 * classCount)..<(($0 + 1) * classCount)]) }
    }

    public var flatCounts: [Int] { Array(counts.joined()) }

    public mutating func add(actual: Int, predicted: Int) {
        precondition(actual >= 0 && actual < classCount && predicted >= 0 && predicted < classCount,
                     "class out of range 0..<\(classCount): actual \(actual), predicted \(predicted)")
        counts[actual][predicted] += 1
    }

    public mutating func add(actual: [Int], predicted: [Int]) {
        for (a, p) in zip(actual, predicted) { add(actual: a, predicted: p) }
    }

    public mutating func merge(_ other: ConfusionMatrix) {
        for a in 0..<classCount { for p in 0..<classCount { counts[a][p] += other.counts[a][p] } }
    }

    public var total: Int { counts.joined().reduce(0, +) }

    public var accuracy: Double {
        let correct = (0..<classCount).reduce(0) { $0 + counts[$1][$1] }
        return total == 0 ? 0 : Double(correct) / Double(total)
    }

    /// Of the samples predicted as `c`, the fraction that are `c` (0 when none are predicted).
    public func precision(of c: Int) -> Double {
        let predicted = (0..<classCount).reduce(0) { $0 + counts[$1][c] }
        return predicted == 0 ? 0 : Double(counts[c][c]) / Double(predicted)
    }

    /// Of the samples of class `c`, the fraction predicted as `c` (0 when there are none).
    public func recall(of c: Int) -> Double {
        let actual = counts[c].reduce(0, +)
        return actual == 0 ? 0 : Double(counts[c][c]) / Double(actual)
    }

    public func f1(of c: Int) -> Double {
        let p = precision(of: c), r = recall(of: c)
        return p + r == 0 ? 0 : 2 * p * r / (p + r)
    }

    /// Unweighted means over classes (scikit-learn's `average="macro"`, zero_division=0).
    public var macroPrecision: Double { macro(precision(of:)) }
    public var macroRecall: Double { macro(recall(of:)) }
    public var macroF1: Double { macro(f1(of:)) }

    private func macro(_ perClass: (Int) -> Double) -> Double {
        classCount == 0 ? 0 : (0..<classCount).map(perClass).reduce(0, +) / Double(classCount)
    }
}
