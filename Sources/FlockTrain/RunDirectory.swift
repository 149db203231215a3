import Foundation

/// A run's output folder: `config.yaml`, `metrics.jsonl`, `summary.json`, `checkpoints/`.
/// Whole files are written to a temporary name, fsynced and renamed, so a reader never
/// sees half a file.
public struct RunDirectory: Sendable {
    public let url: URL

    /// Creates the folder (and `checkpoints/`). Fails if it exists and is not empty.
    public init(path: String) throws {
        url = URL(fileURLWithPath: path)
        let manager = FileManager.default
        if let contents = try? manager.contentsOfDirectory(atPath: path), !contents.isEmpty {
            throw RunDirectoryError(path: path, reason: "exists and is not empty")
        }
        do {
            try manager.createDirectory(at: url.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        } catch {
            throw RunDirectoryError(path: path, reason: error.localizedDescription)
        }
    }

    /// `runs/<name>-<yyyyMMdd-HHmmss>` under `root`.
    public static func defaultPath(root: String = "runs", name: String, date: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        return "\(root)/\(name)-\(formatter.string(from: date))"
    }

    public func writeConfig(_ yaml: String) throws {
        try AtomicFile.write(Data(yaml.utf8), to: url.appendingPathComponent("config.yaml"))
    }

    /// Appends one JSON line for an epoch to `metrics.jsonl`.
    public func appendMetrics(_ record: EpochRecord) throws {
        var object: [String: Any] = ["epoch": record.epoch, "lr": Double(record.learningRate),
                                     "seconds": record.seconds, "samples_per_second": record.samplesPerSecond]
        for (name, value) in record.metrics { object[name] = value }
        var line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        line.append(UInt8(ascii: "\n"))
        let fileURL = url.appendingPathComponent("metrics.jsonl")
        if !FileManager.default.fileExists(atPath: fileURL.path) {
            _ = FileManager.default.createFile(atPath: fileURL.path, contents: nil)
        }
        let handle = try FileHandle(forWritingTo: fileURL)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
    }

    public func writeSummary(_ summary: TrainingSummary) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try encoder.encode(summary), to: url.appendingPathComponent("summary.json"))
    }
}

public struct RunDirectoryError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "run directory \(path): \(reason)" }
}

/// Write-to-temporary, fsync, rename: the file at `url` is either the old one or the new one.
public enum AtomicFile {
    public static func write(_ data: Data, to url: URL) throws {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        _ = FileManager.default.createFile(atPath: temporary.path, contents: nil)
        let handle = try FileHandle(forWritingTo: temporary)
        do {
            try handle.write(contentsOf: data)
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        guard rename(temporary.path, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw RunDirectoryError(path: url.path, reason: "rename failed: \(reason)")
        }
    }
}
