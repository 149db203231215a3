/// Which samples each rank reads.
///
/// Every rank draws the same permutation for an epoch (from the shared seed and the
/// epoch number) and cuts it into global batches of `globalBatchSize`; rank r reads
/// the r-th of `worldSize` near-equal slices of each global batch. So an N-rank step
/// sees exactly the samples of the one-rank step with the same global batch, and a
/// short last batch is spread over the ranks (some may get none) instead of dropped.
public struct DistributedSampler: Sendable {
    public let sampleCount: Int
    public let globalBatchSize: Int
    public let rank: Int
    public let worldSize: Int

    public init(sampleCount: Int, globalBatchSize: Int, rank: Int, worldSize: Int) {
        precondition(globalBatchSize > 0 && worldSize > 0 && rank >= 0 && rank < worldSize, "invalid sampler layout")
        self.sampleCount = sampleCount
        self.globalBatchSize = globalBatchSize
        self.rank = rank
        self.worldSize = worldSize
    }

    public var batchesPerEpoch: Int { (sampleCount + globalBatchSize - 1) / globalBatchSize }

    /// Samples in global batch `index` (all ranks together).
    public func globalCount(ofBatch index: Int) -> Int {
        min(globalBatchSize, sampleCount - index * globalBatchSize)
    }

    /// This rank's sample indices of global batch `index`, given the epoch's permutation.
    public func indices(ofBatch index: Int, order: [Int]) -> [Int] {
        let start = index * globalBatchSize
        let slice = Self.shard(rank, of: worldSize, count: globalCount(ofBatch: index))
        return Array(order[(start + slice.lowerBound)..<(start + slice.upperBound)])
    }

    /// Rank r's part of `count` items: ⌊count·r/n⌋ ..< ⌊count·(r+1)/n⌋.
    public static func shard(_ rank: Int, of worldSize: Int, count: Int) -> Range<Int> {
        (rank * count / worldSize)..<((rank + 1) * count / worldSize)
    }
}
