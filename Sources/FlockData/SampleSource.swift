import FlockTensor

/// Samples a trainer draws batches from, by position 0..<count: a `Dataset` held in
/// memory, or a `StreamedDataset` that reads its file a block of rows at a time.
public protocol SampleSource: Sendable {
    var count: Int { get }
    /// Shape of one sample's features.
    var featureShape: [Int] { get }
    /// Every sample's targets (N, …). Small beside the features (one value per sample for
    /// class indices), so a streamed source keeps them in memory too.
    var targets: Tensor { get }
    /// The samples at `positions`, in that order: features (B, featureShape…), targets (B, …).
    func batch(_ positions: [Int]) throws -> Batch
    /// The samples at `positions` as training epoch `epoch` sees them (generated partners
    /// are drawn per epoch). Default: `batch(positions)`.
    func batch(_ positions: [Int], epoch: Int) throws -> Batch
}

extension Dataset: SampleSource {
    public func batch(_ positions: [Int]) -> Batch {
        Batch(features: features.gatherRows(positions), targets: targets.gatherRows(positions))
    }
}

extension SampleSource {
    public func batch(_ positions: [Int], epoch: Int) throws -> Batch { try batch(positions) }

    /// The samples at `positions` as a `Dataset` in memory.
    public func subset(_ positions: [Int]) throws -> Dataset {
        let rows = try batch(positions)
        return Dataset(features: rows.features, targets: rows.targets)
    }

    /// Consecutive batches of at most `size` samples, in position order.
    public func forEachBatch(of size: Int, _ body: (Batch) throws -> Void) throws {
        var start = 0
        while start < count {
            let end = Swift.min(start + size, count)
            try body(try batch(Array(start..<end)))
            start = end
        }
    }
}
