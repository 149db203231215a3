import FlockParallel
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Loading reads only the byte ranges a rank needs: the runs two placements share, and
/// the blocks of a checkpoint file holding them, each checked against its own checksum.
@Suite struct CheckpointRangeReadTests {
    /// Every value both placements hold, as (index in self's local tensor, index in other's),
    /// found by visiting every global index.
    static func naiveOverlap(_ mine: ShardPlacement, _ other: ShardPlacement) -> [[Int]] {
        let shape = mine.globalShape
        func local(_ index: [Int], in placement: ShardPlacement) -> Int? {
            var linear = 0
            for (axis, value) in index.enumerated() {
                var position = value, extent = shape[axis]
                if placement.axis == axis {
                    guard (placement.start..<(placement.start + placement.length)).contains(value) else { return nil }
                    position -= placement.start
                    extent = placement.length
                }
                linear = linear * extent + position
            }
            return linear
        }
        var pairs: [[Int]] = []
        var index = [Int](repeating: 0, count: shape.count)
        for _ in 0..<shape.reduce(1, *) {
            if let a = local(index, in: mine), let b = local(index, in: other) { pairs.append([a, b]) }
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return pairs
    }

    static func randomPlacement(_ shape: [Int], using generator: inout RandomGenerator) -> ShardPlacement {
        guard Int(generator.next() % 4) != 0 else { return .whole(shape) }
        let axis = Int(generator.next() % UInt64(shape.count))
        let start = Int(generator.next() % UInt64(shape[axis]))
        let length = Int(generator.next() % UInt64(shape[axis] - start + 1))
        return .slice(of: shape, axis: axis, start: start, length: length)
    }

    @Test func overlapRunsMatchVisitingEveryIndex() {
        var generator = RandomGenerator(seed: 11)
        for _ in 0..<300 {
            let shape = (0..<Int(1 + generator.next() % 4)).map { _ in Int(1 + generator.next() % 5) }
            let mine = Self.randomPlacement(shape, using: &generator), other = Self.randomPlacement(shape, using: &generator)
            var pairs: [[Int]] = []
            mine.forEachOverlap(with: other) { a, b, count in
                for i in 0..<count { pairs.append([a + i, b + i]) }
            }
            #expect(pairs == Self.naiveOverlap(mine, other), "\(shape) \(mine.describe) \(other.describe)")
        }
    }

    /// A file of `w` [64, 8] (values 0..<512) and `b` [8], hashed in blocks of 256 bytes.
    static func writeFile(in folder: TemporaryFolder) throws -> (path: String, digests: BlockDigests, bytes: Data) {
        let layout: [(name: String, shape: [Int])] = [("w", [64, 8]), ("b", [8])]
        let data = try ShardedState.encode(layout: layout, values: (0..<520).map(Float.init), placements: [:])
        var hasher = BlockHasher(blockBytes: 256)
        data.withUnsafeBytes { hasher.update($0) }
        let url = folder.url.appendingPathComponent("model.safetensors")
        try data.write(to: url)
        return (url.path, hasher.finish(), data)
    }

    @Test func aRankReadsAndChecksOnlyTheBlocksOfItsRows() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (path, digests, original) = try Self.writeFile(in: folder)
        let rows = ShardPlacement.slice(of: [64, 8], axis: 0, start: 40, length: 8)
        let global = try GlobalTensors(files: [try LazyTensorFile(path: path, digests: digests)])
        #expect(try global.extract("w", placement: rows, source: path) == (320..<384).map(Float.init))
        let columns = ShardPlacement.slice(of: [64, 8], axis: 1, start: 6, length: 2)
        var expectedColumns: [Float] = []
        for row in 0..<64 { expectedColumns += [Float(8 * row + 6), Float(8 * row + 7)] }
        #expect(try global.extract("w", placement: columns, source: path) == expectedColumns)

        // Damage the first block after the header's (early rows of w): rows 40..<48 still
        // load; the whole tensor names the block.
        var damaged = original
        let dataStart = original.count - 520 * 4
        let block = (dataStart / 256 + 1) * 256
        #expect(block + 256 <= dataStart + 40 * 8 * 4)
        damaged[block + 4] ^= 0x40
        try damaged.write(to: URL(fileURLWithPath: path))
        let reopened = try GlobalTensors(files: [try LazyTensorFile(path: path, digests: digests)])
        #expect(try reopened.extract("w", placement: rows, source: path) == (320..<384).map(Float.init))
        let error = #expect(throws: Checkpoint.LoadError.self) { try reopened.extract("w", placement: .whole([64, 8]), source: path) }
        #expect(error?.description == "\(path): checksum mismatch in bytes \(block)..<\(block + 256): state.json records SHA-256 \(digests.hashes[block / 256].prefix(16))…, the bytes have \(SHA256.hex(of: damaged[block..<(block + 256)]).prefix(16))…; the file is truncated or corrupt",
                "\(String(describing: error))")

        try original.prefix(original.count - 4).write(to: URL(fileURLWithPath: path))
        let truncated = #expect(throws: Checkpoint.LoadError.self) { try LazyTensorFile(path: path, digests: digests) }
        #expect(truncated?.description == "\(path): checksum mismatch: state.json records \(original.count) bytes, the file has \(original.count - 4); the file is truncated or corrupt")
    }

    @Test func aCheckpointRecordsTheBlocksOfEveryTensorFile() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = try ShardedState.encode(layout: [("w", [3])], values: [1, 2, 3], placements: [:])
        let state = TrainingState(epoch: 1, batchInEpoch: 0, step: 1, learningRateScale: 1, dropoutGenerators: [], callbacks: [:],
                                  best: [:], samplesSeen: 0, trainingSeconds: 0, lastMetrics: [:], configHash: "", worldSize: 1, files: [:])
        let written = try Checkpoint.write(name: "c", in: folder.url, files: ["model.safetensors": .bytes(data), "optimizer.safetensors": .bytes(data)],
                                           configYAML: "seed: 1\n", state: state)
        let saved = try Checkpoint.readState(written)
        #expect(saved.fileBlocks?["model.safetensors"] == BlockDigests(bytes: data.count, blockBytes: 4 << 20, hashes: [SHA256.hex(of: data)]))
        #expect(saved.fileBlocks?.keys.sorted() == ["model.safetensors", "optimizer.safetensors"])
        #expect(try Checkpoint.load(written).model["w"]?.scalars == [1, 2, 3])
    }
}
