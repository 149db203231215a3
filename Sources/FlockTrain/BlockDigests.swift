import Foundation

/// The SHA-256 of each fixed-size block of a checkpoint file, recorded in `state.json`
/// beside the file's whole SHA-256, so a rank that reads only the byte ranges it needs
/// (its rows of a tensor) checks just the blocks those ranges touch.
///
/// ```
/// file of 9 MiB, blocks of 4 MiB → hashes of bytes 0..<4M, 4M..<8M, 8M..<9M
/// ```
public struct BlockDigests: Codable, Sendable, Equatable {
    /// Block size of checkpoints this version writes: the size a file is streamed in.
    public static let standardBlockBytes = 4 << 20

    /// The file's length in bytes.
    public var bytes: Int
    public var blockBytes: Int
    /// SHA-256 (hex) of each block in file order; the last may be short.
    public var hashes: [String]

    enum CodingKeys: String, CodingKey {
        case bytes, hashes
        case blockBytes = "block_bytes"
    }

    public init(bytes: Int, blockBytes: Int, hashes: [String]) {
        self.bytes = bytes
        self.blockBytes = blockBytes
        self.hashes = hashes
    }

    /// Whether the recorded sizes make sense: one hash per block of a positive size.
    var isConsistent: Bool {
        blockBytes > 0 && bytes >= 0 && hashes.count == (bytes + blockBytes - 1) / blockBytes
    }

    /// The byte range of block `index`.
    func range(ofBlock index: Int) -> Range<Int> {
        (index * blockBytes)..<min(bytes, (index + 1) * blockBytes)
    }
}

/// Hashes a stream of bytes in blocks of `blockBytes` as it arrives in pieces of any size.
struct BlockHasher {
    let blockBytes: Int
    private var current = SHA256()
    private var filled = 0
    private var total = 0
    private var hashes: [String] = []

    init(blockBytes: Int = BlockDigests.standardBlockBytes) {
        self.blockBytes = blockBytes
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < bytes.count {
            let take = min(bytes.count - offset, blockBytes - filled)
            current.update(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
            filled += take
            offset += take
            if filled == blockBytes { closeBlock() }
        }
        total += bytes.count
    }

    /// The digests of everything added so far (a short last block included).
    mutating func finish() -> BlockDigests {
        if filled > 0 { closeBlock() }
        return BlockDigests(bytes: total, blockBytes: blockBytes, hashes: hashes)
    }

    private mutating func closeBlock() {
        hashes.append(current.hexDigest())
        current = SHA256()
        filled = 0
    }
}

/// A written file's SHA-256 and its blocks' (what a rank reports for each file it wrote
/// into a checkpoint).
public struct FileDigests: Codable, Sendable, Equatable {
    public var sha256: String
    public var blocks: BlockDigests?
}
