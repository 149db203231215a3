import FlockTensor
import Synchronization

/// A split of a file too large to hold, read a block of rows at a time: position `p` is
/// file row `rows[p]` (ascending, so consecutive positions lie in consecutive blocks).
/// The most recently read blocks stay in a cache of about `cacheRows` rows; with
/// `SampleOrder`'s shuffle window, each epoch reads every block about once.
///
/// Memory: the cache, the row numbers and the targets (one value per sample), whatever
/// the file's size.
public final class StreamedDataset: SampleSource {
    public let blocks: any RowBlocks
    /// File row of each position, ascending.
    public let rows: [Int]
    public let featureShape: [Int]
    public let targets: Tensor
    /// Raw rows (B, rowWidth) → the model's inputs (B, featureShape…).
    private let prepare: @Sendable (Tensor) -> Tensor
    private let cache: Mutex<BlockCache>

    /// - Parameters:
    ///   - targets: (rows.count, …) prepared targets, by position.
    ///   - window: positions read together (the shuffle window): the cache holds the file
    ///     rows of two windows, so a batch that straddles two is read once.
    public init(blocks: any RowBlocks, rows: [Int], featureShape: [Int], targets: Tensor, window: Int,
                prepare: @escaping @Sendable (Tensor) -> Tensor) {
        precondition(rows.count == (targets.shape.first ?? 0), "\(rows.count) rows but \(targets.shape) targets")
        self.blocks = blocks
        self.rows = rows
        self.featureShape = featureShape
        self.targets = targets
        self.prepare = prepare
        let largestBlock = zip(blocks.blockStarts.dropFirst(), blocks.blockStarts).map { $0 - $1 }.max() ?? 0
        let span = stride(from: 0, to: rows.count, by: max(window, 1)).map { start in
            rows[min(start + window, rows.count) - 1] - rows[start] + 1
        }.max() ?? 0
        cache = Mutex(BlockCache(capacityRows: 2 * span + 2 * largestBlock))
    }

    public var count: Int { rows.count }

    public func batch(_ positions: [Int]) throws -> Batch {
        let width = blocks.rowWidth
        var raw = [Float](repeating: 0, count: positions.count * width)
        var held: [Int: [Float]] = [:]
        for (index, position) in positions.enumerated() {
            let row = rows[position], block = blocks.block(containing: row)
            if held[block] == nil { held[block] = try features(ofBlock: block) }
            let offset = (row - blocks.blockStarts[block]) * width
            raw.withUnsafeMutableBufferPointer { target in
                held[block]!.withUnsafeBufferPointer { source in
                    (target.baseAddress! + index * width).update(from: source.baseAddress! + offset, count: width)
                }
            }
        }
        return Batch(features: prepare(Tensor(shape: [positions.count, width], scalars: raw)),
                     targets: targets.gatherRows(positions))
    }

    /// A block from the cache, or read from the file (outside the lock) and cached.
    private func features(ofBlock block: Int) throws -> [Float] {
        if let cached = cache.withLock({ $0.take(block) }) { return cached }
        let values = try blocks.features(ofBlock: block)
        let rowCount = blocks.blockStarts[block + 1] - blocks.blockStarts[block]
        cache.withLock { $0.insert(block, values, rows: rowCount) }
        return values
    }
}

/// The most recently used blocks, up to a number of rows (always at least one block).
struct BlockCache: Sendable {
    let capacityRows: Int
    private var entries: [Int: (values: [Float], rows: Int, used: Int)] = [:]
    private var heldRows = 0
    private var clock = 0

    init(capacityRows: Int) { self.capacityRows = capacityRows }

    mutating func take(_ block: Int) -> [Float]? {
        guard var entry = entries[block] else { return nil }
        clock += 1
        entry.used = clock
        entries[block] = entry
        return entry.values
    }

    mutating func insert(_ block: Int, _ values: [Float], rows: Int) {
        guard entries[block] == nil else { return }
        while heldRows + rows > capacityRows, let oldest = entries.min(by: { $0.value.used < $1.value.used }) {
            heldRows -= oldest.value.rows
            entries[oldest.key] = nil
        }
        clock += 1
        entries[block] = (values, rows, clock)
        heldRows += rows
    }
}
