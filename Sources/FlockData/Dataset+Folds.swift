extension Dataset {
    /// The sample indices of each of `k` folds: a seeded permutation cut into `k`
    /// consecutive parts whose sizes differ by at most one (larger first). Every sample is
    /// in exactly one fold.
    public func foldIndices(_ k: Int, seed: UInt64) -> [[Int]] {
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
        let folds = foldIndices(k, seed: seed)
        return (subset(folds.enumerated().filter { $0.offset != fold }.flatMap(\.element)), subset(folds[fold]))
    }
}
