import FlockTensor

/// An epoch's sample order drawn with replacement, sample i with probability proportional
/// to `weights[i]` (PyTorch's `WeightedRandomSampler`), from (seed, epoch) alone — a
/// resumed run and every data-parallel rank draw the same order. `balancingClasses` weighs
/// each sample by 1 / (its class's count), so every class is drawn equally often on
/// average: oversampling for imbalanced classes.
public struct WeightedSampler: Sendable, Equatable {
    /// Running sums of the weights (the last is the total).
    private let cumulative: [Double]

    /// `weights`: one non-negative weight per sample, not all zero.
    public init(weights: [Double]) {
        precondition(!weights.isEmpty && weights.allSatisfy { $0 >= 0 && $0.isFinite } && weights.contains { $0 > 0 },
                     "weights must be finite, non-negative and not all zero")
        var total = 0.0
        cumulative = weights.map { total += $0; return total }
    }

    /// Weights 1 / count(class) for class labels `labels`.
    public static func balancingClasses(_ labels: [Float]) -> WeightedSampler {
        var counts: [Float: Int] = [:]
        for label in labels { counts[label, default: 0] += 1 }
        return WeightedSampler(weights: labels.map { 1 / Double(counts[$0]!) })
    }

    /// `count` draws (default: one per sample) for epoch `epoch`.
    public func order(epoch: Int, seed: UInt64, count: Int? = nil) -> [Int] {
        var generator = RandomGenerator(seed: seed, stream: UInt64(epoch) &+ 0x5A3B_0000)
        let total = cumulative.last!
        return (0..<(count ?? cumulative.count)).map { _ in
            let target = Double(generator.nextUniform()) * total
            // The first sample whose running sum passes the target (binary search).
            var low = 0, high = cumulative.count - 1
            while low < high {
                let middle = (low + high) / 2
                if cumulative[middle] > target { high = middle } else { low = middle + 1 }
            }
            return low
        }
    }
}
