import Foundation

/// A data file read a block of rows at a time, so a file larger than memory can be
/// trained on. Rows are numbered 0..<rowCount in file order; block `b` holds rows
/// `blockStarts[b]..<blockStarts[b + 1]`.
public protocol RowBlocks: Sendable {
    /// The file, for messages.
    var path: String { get }
    var rowCount: Int { get }
    /// Raw feature values per row.
    var rowWidth: Int { get }
    /// (blocks + 1) row numbers: where each block starts, then `rowCount`.
    var blockStarts: [Int] { get }
    /// Block `block`'s raw features, (rows in the block × rowWidth) row-major; NaN marks a
    /// missing cell.
    func features(ofBlock block: Int) throws -> [Float]
}

extension RowBlocks {
    public var blockCount: Int { blockStarts.count - 1 }

    /// The block holding row `row`.
    public func block(containing row: Int) -> Int {
        var low = 0, high = blockCount - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if blockStarts[middle] <= row { low = middle } else { high = middle - 1 }
        }
        return low
    }
}

/// An open file read with `pread`, closed when the last reference goes.
final class ReadOnlyFile: Sendable {
    let path: String
    let size: Int
    private let descriptor: Int32

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError.fileNotFound(path: path) }
        descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw DataError.unreadable(path: path, reason: String(cString: strerror(errno))) }
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw DataError.unreadable(path: path, reason: "not a regular file")
        }
        self.path = path
        size = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// `count` bytes from `offset` (fewer only at the end of the file).
    func read(_ count: Int, at offset: Int) throws -> [UInt8] {
        let wanted = Swift.max(0, Swift.min(count, size - offset))
        var bytes = [UInt8](repeating: 0, count: wanted)
        var done = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while done < wanted {
                let got = pread(descriptor, buffer.baseAddress! + done, wanted - done, off_t(offset + done))
                if got < 0 && errno == EINTR { continue }
                guard got > 0 else {
                    throw DataError.unreadable(path: path, reason: got == 0 ? "the file shrank while being read" : String(cString: strerror(errno)))
                }
                done += got
            }
        }
        return bytes
    }
}
