import FlockStore
import Foundation

/// Reads what a run left in its directory: `summary.json` and `metrics.jsonl`, also while
/// the run is still going (a sweep driver follows its trials this way).
public struct RunResults: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// One line of `metrics.jsonl`: an epoch's metrics, `lr`, `seconds`, `samples_per_second`.
    public struct EpochLine: Sendable, Equatable {
        public let epoch: Int
        public let values: [String: Double]
    }

    /// `summary.json`, written when the run finished.
    public func summary() throws -> TrainingSummary {
        let url = directory.appendingPathComponent("summary.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw RunResultsError(path: url.path, reason: "no summary (the run has not finished)")
        }
        do { return try FlockJSON.decoder.decode(TrainingSummary.self, from: data) } catch {
            throw RunResultsError(path: url.path, reason: "not a run summary: \(error)")
        }
    }

    /// Every complete line of `metrics.jsonl` so far; a half-written last line is skipped.
    public func epochs() -> [EpochLine] {
        guard let text = try? String(contentsOf: directory.appendingPathComponent("metrics.jsonl"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let values = try? FlockJSON.decoder.decode([String: Double].self, from: Data(line.utf8)),
                  let epoch = values["epoch"], epoch == epoch.rounded(), epoch >= 0 else { return nil }
            return EpochLine(epoch: Int(epoch), values: values)
        }
    }

    /// The objective of a finished run: its best or its final value of `metric`.
    public func objective(_ metric: String, bestEpoch: Bool) throws -> Double {
        let summary = try summary()
        guard let value = (bestEpoch ? summary.best : summary.final)[metric] else {
            throw RunResultsError(path: directory.appendingPathComponent("summary.json").path,
                                  reason: "no \(metric) in the run's summary")
        }
        return value
    }
}

/// A run's results that cannot be read: names the file.
public struct RunResultsError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}
