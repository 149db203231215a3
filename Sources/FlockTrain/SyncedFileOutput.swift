import Foundation

/// A file written in pieces with POSIX calls, hashed (SHA-256) as it goes and fsynced when
/// finished, so a large file is written and checksummed without being held in memory.
/// A failure names the file and the system's reason (see `FileWriter.Failure`).
final class SyncedFileOutput {
    let path: String
    private var descriptor: Int32
    private var hasher = SHA256()
    /// Set for checkpoint files, whose blocks are hashed too (see `BlockDigests`).
    private var blockHasher: BlockHasher?
    private(set) var byteCount = 0

    /// Creates (or truncates) `path`; with `truncating: false`, opens it as it is (for
    /// `write(_:at:)` into a file another process laid out).
    /// With `hashingBlocks`, each block's SHA-256 is kept too (checkpoint files).
    init(path: String, truncating: Bool = true, hashingBlocks: Bool = false) throws {
        self.path = path
        blockHasher = hashingBlocks ? BlockHasher() : nil
        descriptor = open(path, O_WRONLY | O_CREAT | (truncating ? O_TRUNC : 0), 0o644)
        guard descriptor >= 0 else { throw FileWriter.Failure(path: path, operation: "create", code: errno) }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        hasher.update(bytes)
        blockHasher?.update(bytes)
        var offset = 0
        while offset < bytes.count {
            let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw FileWriter.Failure(path: path, operation: "write", code: errno)
            }
            offset += written
        }
        byteCount += bytes.count
    }

    /// Writes `bytes` at byte `offset` (not hashed: the file is not written in order).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let written = pwrite(descriptor, bytes.baseAddress! + done, bytes.count - done, off_t(offset + done))
            if written < 0 {
                if errno == EINTR { continue }
                throw FileWriter.Failure(path: path, operation: "write", code: errno)
            }
            done += written
        }
    }

    /// Sets the file's length to `length` bytes (what is added reads as zeros).
    func extend(to length: Int) throws {
        guard ftruncate(descriptor, off_t(length)) == 0 else { throw FileWriter.Failure(path: path, operation: "resize", code: errno) }
    }

    func append(_ data: Data) throws {
        try data.withUnsafeBytes { try append($0) }
    }

    /// Fsyncs and closes the file; returns the SHA-256 (hex) of everything written.
    @discardableResult
    func finish() throws -> String {
        try finishWithDigests().sha256
    }

    /// Fsyncs and closes the file; returns the SHA-256 (hex) of everything appended and
    /// of each of its blocks when they were hashed (see `BlockDigests`).
    func finishWithDigests() throws -> FileDigests {
        defer { close(descriptor); descriptor = -1 }
        guard fsync(descriptor) == 0 else { throw FileWriter.Failure(path: path, operation: "sync", code: errno) }
        return FileDigests(sha256: hasher.hexDigest(), blocks: blockHasher?.finish())
    }
}
