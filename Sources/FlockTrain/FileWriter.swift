import Foundation

/// Writes files with POSIX calls, so a failure names the file and the system's reason
/// (`runs/x/metrics.jsonl: cannot write: No space left on device`) instead of a bare
/// `NSCocoaErrorDomain Code=640`.
enum FileWriter {
    /// A write that failed: the file, what was being done, and `strerror`'s reason.
    struct Failure: Error, CustomStringConvertible {
        let path: String
        let operation: String
        let code: Int32

        var description: String {
            let hint = code == ENOSPC || code == EDQUOT ? " (the disk or quota is full)" : code == EACCES || code == EPERM ? " (check the folder's permissions)" : ""
            return "\(path): cannot \(operation): \(String(cString: strerror(code)))\(hint)"
        }
    }

    /// Writes `data` to `path` — replacing it, or appended when `append` — and with `sync`
    /// fsyncs it before returning.
    static func write(_ data: Data, to path: String, append: Bool = false, sync: Bool = false) throws {
        let flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
        let descriptor = open(path, flags, 0o644)
        guard descriptor >= 0 else { throw Failure(path: path, operation: append ? "open for appending" : "create", code: errno) }
        defer { close(descriptor) }
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw Failure(path: path, operation: "write", code: errno)
                }
                offset += written
            }
        }
        if sync && fsync(descriptor) != 0 { throw Failure(path: path, operation: "sync", code: errno) }
    }

    /// Creates `url` and its parents; a failure names the folder.
    static func createDirectory(_ url: URL) throws {
        do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
            let code = ((error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError)?.code
            throw Failure(path: url.path, operation: "create the folder", code: code.map(Int32.init) ?? EIO)
        }
    }
}
