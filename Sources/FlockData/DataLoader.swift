/// One batch: features (B, featureShape…) and targets (B, …).
public struct Batch: Sendable {
    public let features: Tensor
    public let targets: Tensor
    public var count: Int { features.shape[0] }
}

/// Cuts a dataset into batches, reshuffled every epoch.
///
/// The order of epoch `e` is a permutation drawn from `RandomGenerator(seed: seed, stream: e)`,
/// so it depends only on (seed, epoch): a resumed run sees the same order, and every
/// rank of a data-parallel job can compute the same permutation.
public struct DataLoader: Sendable {
    public let dataset: Dataset
    public let batchSize: Int
    public let shuffle: Bool
    public let seed: UInt64
    /// Drop the last batch when it is smaller than `batchSize`.
    public let dropLast: Bool
    /// Draws each epoch's order with replacement by weight instead of permuting.
    public let sampler: WeightedSampler?

    public init(dataset: Dataset, batchSize: Int, shuffle: Bool = true, seed: UInt64 = 0, dropLast: Bool = false,
                sampler: WeightedSampler? = nil) {
        precondition(batchSize > 0, "batch size must be positive")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
        self.sampler = sampler
    }

    public var batchesPerEpoch: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// The sample order of epoch `epoch`.
    public func order(epoch: Int) -> [Int] {
        SampleOrder(count: dataset.count, shuffle: shuffle, seed: seed, sampler: sampler).order(epoch: epoch)
    }

    /// Batch `index` of epoch `epoch`.
    public func batch(_ index: Int, epoch: Int, order: [Int]? = nil) -> Batch {
        precondition(index >= 0 && index < batchesPerEpoch, "batch \(index) of \(batchesPerEpoch)")
        let sampleOrder = order ?? self.order(epoch: epoch)
        let indices = Array(sampleOrder[(index * batchSize)..<Swift.min((index + 1) * batchSize, dataset.count)])
        return Batch(features: dataset.features.gatherRows(indices), targets: dataset.targets.gatherRows(indices))
    }

    /// All batches of one epoch, in order.
    public func batches(epoch: Int) -> [Batch] {
        let sampleOrder = order(epoch: epoch)
        return (0..<batchesPerEpoch).map { batch($0, epoch: epoch, order: sampleOrder) }
    }
}
