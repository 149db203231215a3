import Foundation

/// Reads byte ranges of one checkpoint file, checking every block it touches against the
/// block checksums `state.json` recorded (see `BlockDigests`), so a rank reads and checks
/// only what it needs. The last checked block is kept until `forgetBlock`: the runs a
/// rank reads of a tensor come in file order and most fall in the block before.
///
/// The file stays open while the reader lives, so a checkpoint removed after loading
/// (rotation keeps the newest few) still reads.
final class VerifiedFileReader {
    let path: String
    let digests: BlockDigests
    private let descriptor: Int32
    private var cachedIndex = -1
    private var cached: [UInt8] = []
    /// Ranks run as threads may share a loaded checkpoint.
    private let lock = NSLock()

    /// Opens `path`; throws when it is missing or its length is not the recorded one.
    init(path: String, digests: BlockDigests) throws {
        guard digests.isConsistent else {
            throw Checkpoint.LoadError(description: "\(path): state.json's file_blocks entry is inconsistent (\(digests.hashes.count) hashes for \(digests.bytes) bytes in blocks of \(digests.blockBytes))")
        }
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw Checkpoint.LoadError(description: "\(path): missing (listed in state.json)") }
        var status = stat()
        guard fstat(descriptor, &status) == 0, Int(status.st_size) == digests.bytes else {
            close(descriptor)
            throw Checkpoint.LoadError(description: "\(path): checksum mismatch: state.json records \(digests.bytes) bytes, the file has \(status.st_size); the file is truncated or corrupt")
        }
        self.path = path
        self.digests = digests
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// Copies the file's bytes `range` to `destination`.
    func read(_ range: Range<Int>, into destination: UnsafeMutableRawPointer) throws {
        lock.lock()
        defer { lock.unlock() }
        var offset = range.lowerBound
        while offset < range.upperBound {
            let index = offset / digests.blockBytes
            try loadBlock(index)
            let within = offset - index * digests.blockBytes
            let count = min(range.upperBound - offset, cached.count - within)
            cached.withUnsafeBytes { block in
                (destination + (offset - range.lowerBound)).copyMemory(from: block.baseAddress! + within, byteCount: count)
            }
            offset += count
        }
    }

    /// Forgets the checked block it keeps: a checkpoint of many shard files would otherwise
    /// hold one block (4 MiB) per file for as long as it is open.
    func forgetBlock() {
        lock.lock()
        defer { lock.unlock() }
        cachedIndex = -1
        cached = []
    }

    /// The file's bytes `range` (a header).
    func bytes(_ range: Range<Int>) throws -> Data {
        var data = Data(count: range.count)
        try data.withUnsafeMutableBytes { try read(range, into: $0.baseAddress!) }
        return data
    }

    private func loadBlock(_ index: Int) throws {
        guard index != cachedIndex else { return }
        let range = digests.range(ofBlock: index)
        cached = [UInt8](repeating: 0, count: range.count)
        var done = 0
        while done < range.count {
            let got = cached.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, range.count - done, off_t(range.lowerBound + done)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else {
                cachedIndex = -1
                throw Checkpoint.LoadError(description: "\(path): cannot read bytes \(range.lowerBound + done)..<\(range.upperBound): \(got < 0 ? String(cString: strerror(errno)) : "the file ended"); the file is truncated or corrupt")
            }
            done += got
        }
        let actual = SHA256.hex(of: cached)
        guard actual == digests.hashes[index] else {
            cachedIndex = -1
            throw Checkpoint.LoadError(description: "\(path): checksum mismatch in bytes \(range.lowerBound)..<\(range.upperBound): state.json records SHA-256 \(digests.hashes[index].prefix(16))…, the bytes have \(actual.prefix(16))…; the file is truncated or corrupt")
        }
        cachedIndex = index
    }
}
