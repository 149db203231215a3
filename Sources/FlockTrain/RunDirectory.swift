import FlockStore
import Foundation

/// A run's output folder: `config.yaml`, `metrics.jsonl`, `summary.json`, `checkpoints/`.
/// Whole files are written to a temporary name, fsynced and renamed, so a reader never
/// sees half a file.
public struct RunDirectory: Sendable {
    public let url: URL

    /// Creates the folder (and `checkpoints/`). Fails if it exists and is not empty,
    /// unless `resuming`, when it must already hold a checkpoint.
    public init(path: String, resuming: Bool = false) throws {
        url = URL(fileURLWithPath: path)
        let manager = FileManager.default
        if resuming {
            guard manager.fileExists(atPath: url.appendingPathComponent("checkpoints/last").path) else {
                throw RunDirectoryError(path: path, reason: "has no checkpoints/last to resume from")
            }
            return
        }
        if let contents = try? manager.contentsOfDirectory(atPath: path), !contents.isEmpty {
            throw RunDirectoryError(path: path, reason: "exists and is not empty (use --resume to continue it)")
        }
        try FileWriter.createDirectory(url.appendingPathComponent("checkpoints"))
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

    public var checkpoints: URL { url.appendingPathComponent("checkpoints") }

    /// Appends one JSON line for an epoch to `metrics.jsonl` (and a row to `metrics.csv`).
    public func appendMetrics(_ record: EpochRecord, csv: Bool = false) throws {
        var object: [String: Any] = ["epoch": record.epoch, "lr": Double(record.learningRate),
                                     "seconds": record.seconds, "samples_per_second": record.samplesPerSecond]
        for (name, value) in record.metrics { object[name] = value }
        for (phase, rate) in record.phaseLearningRates { object["lr_\(phase)"] = Double(rate) }
        var line = try FlockJSON.data(object)
        line.append(UInt8(ascii: "\n"))
        try append(line, to: "metrics.jsonl")
        guard csv else { return }
        let columns = ["epoch"] + record.metrics.keys.sorted() + ["lr", "seconds", "samples_per_second"]
        let csvURL = url.appendingPathComponent("metrics.csv")
        if !FileManager.default.fileExists(atPath: csvURL.path) {
            try append(Data((columns.joined(separator: ",") + "\n").utf8), to: "metrics.csv")
        }
        let row = columns.map { column -> String in
            if let value = object[column] as? Double { return "\(value)" }
            return "\(object[column] ?? "")"
        }
        try append(Data((row.joined(separator: ",") + "\n").utf8), to: "metrics.csv")
    }

    private func append(_ data: Data, to name: String) throws {
        try FileWriter.write(data, to: url.appendingPathComponent(name).path, append: true)
    }

    /// Removes what a killed run left half-written: temporary checkpoint folders and links.
    public func removeUnfinishedCheckpoints() {
        let manager = FileManager.default
        for name in (try? manager.contentsOfDirectory(atPath: checkpoints.path)) ?? []
        where name.hasPrefix(".tmp-") || name.hasPrefix(".last-") {
            try? manager.removeItem(at: checkpoints.appendingPathComponent(name))
        }
    }

    /// Drops the lines of epochs after `epoch` from `metrics.jsonl` and `metrics.csv` (a run
    /// killed after logging an epoch but before checkpointing it logs that epoch again).
    public func truncateMetrics(afterEpoch epoch: Int) throws {
        for name in ["metrics.jsonl", "metrics.csv"] {
            let fileURL = url.appendingPathComponent(name)
            guard let text = try? String(contentsOf: fileURL, encoding: .utf8) else { continue }
            var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            if name == "metrics.jsonl" {
                lines = lines.filter { line in
                    let object = try? FlockJSON.object(from: Data(line.utf8)) as? [String: Any]
                    return (object?["epoch"] as? Int ?? Int.max) <= epoch
                }
            } else if let header = lines.first {
                lines = [header] + lines.dropFirst().filter { Int($0.split(separator: ",").first ?? "") ?? Int.max <= epoch }
            }
            try AtomicFile.write(Data(lines.map { $0 + "\n" }.joined().utf8), to: fileURL)
        }
    }

    public func writeSummary(_ summary: TrainingSummary) throws {
        try AtomicFile.write(try FlockJSON.encoder(pretty: true).encode(summary.recordingBLAS()), to: url.appendingPathComponent("summary.json"))
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
        try write(to: url) { try $0.append(data) }
    }

    /// Writes the file `fill` streams into the output, atomically; a failure removes the
    /// temporary file and leaves `url` as it was.
    static func write(to url: URL, _ fill: (SyncedFileOutput) throws -> Void) throws {
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            let output = try SyncedFileOutput(path: temporary.path)
            try fill(output)
            _ = try output.finish()
        } catch {
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
