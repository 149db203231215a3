import FlockTensor

extension Dataset {
    /// The sample indices of each of `k` folds: a seeded permutation cut into `k`
    /// consecutive parts whose sizes differ by at most one (larger first). Every sample is
    /// in exactly one fold.
    public func foldIndices(_ k: Int, seed: UInt64) -> [[Int]] {
        Self.foldIndices(k, count: count, seed: seed)
    }

    /// `foldIndices(_:seed:)` for `count` samples.
    public static func foldIndices(_ k: Int, count: Int, seed: UInt64) -> [[Int]] {
        precondition(k >= 2 && k <= count, "\(k) folds of \(count) samples")
        var generator = RandomGenerator(seed: seed, stream: 0x5911)
        let order = generator.permutation(count)
        var start = 0
        return (0..<k).map { fold in
            let size = count / k + (fold < count % k ? 1 : 0)
            defer { start += size }
            return Array(order[start..<(start + size)])
        }
    }

    /// Fold `fold` of `k` held out for validation, the others for training.
    public func split(fold: Int, of k: Int, seed: UInt64) -> (training: Dataset, validation: Dataset) {
        let (training, validation) = Self.splitIndices(fold: fold, of: k, count: count, seed: seed)
        return (subset(training), subset(validation))
    }

    /// The sample indices of `split(fold:of:seed:)`'s two parts.
    public static func splitIndices(fold: Int, of k: Int, count: Int, seed: UInt64) -> (training: [Int], validation: [Int]) {
        let folds = foldIndices(k, count: count, seed: seed)
        return (folds.enumerated().filter { $0.offset != fold }.flatMap(\.element), folds[fold])
    }
}
