import FlockStore
import Foundation

/// Reads runs for a report: from a run directory (what the run wrote, also while it runs)
/// and from the store's record (status, error; metrics when the directory is gone).
enum RunLoader {
    /// The run in `directory`; its store record, when `store` has one, adds the status.
    static func load(directory: URL, store: ExperimentStore?) throws -> RunData {
        let manager = FileManager.default
        let metricsFile = directory.appendingPathComponent("metrics.jsonl")
        guard manager.fileExists(atPath: metricsFile.path)
                || manager.fileExists(atPath: directory.appendingPathComponent("config.yaml").path) else {
            throw ReportError("\(directory.path): not a run directory (no metrics.jsonl or config.yaml)")
        }
        var run = RunData(name: directory.lastPathComponent, directory: directory.path)
        run.epochs = epochs(jsonl: (try? String(contentsOf: metricsFile, encoding: .utf8)) ?? "")
        run.config = (try? String(contentsOf: directory.appendingPathComponent("config.yaml"), encoding: .utf8)).map(RunConfig.init(text:))
        let summary = (try? Data(contentsOf: directory.appendingPathComponent("summary.json")))
            .flatMap { try? FlockJSON.object(from: $0) as? [String: Any] }
        if let summary {
            run.stoppedEarly = summary["stopped_early"] as? Bool ?? false
            run.status = run.stoppedEarly ? "stopped_early" : "completed"
        }
        let checkpoints = checkpointStates(directory.appendingPathComponent("checkpoints"))
        run.checkpointEpochs = checkpoints.map(\.epoch)
        run.rollbacks = rollbacks(checkpoints)
        let id = directory.standardizedFileURL.path
        if let record = try? store?.run(id: id) {
            run.status = record.status.rawValue
            run.error = record.error
            if run.epochs.isEmpty { run.epochs = epochs(store: store!, runID: id) }
        }
        return run
    }

    /// Every run the store holds, oldest first; each from its directory when that still
    /// exists, otherwise from the store's metrics.
    static func loadAll(store: ExperimentStore) throws -> [RunData] {
        try store.runs().reversed().map { record in
            let directory = URL(fileURLWithPath: record.directory)
            if let run = try? load(directory: directory, store: store) { return run }
            return RunData(name: record.name, directory: record.directory, status: record.status.rawValue,
                           epochs: epochs(store: store, runID: record.id),
                           checkpointEpochs: ((try? store.checkpoints(runID: record.id)) ?? []).map(\.epoch),
                           stoppedEarly: record.status == .stoppedEarly, config: record.config, error: record.error)
        }
    }

    /// The complete lines of `metrics.jsonl`; an epoch logged twice (a resumed run) keeps
    /// its last line; a half-written last line is skipped.
    static func epochs(jsonl: String) -> [EpochValues] {
        var byEpoch: [Int: [String: Double]] = [:]
        for line in jsonl.split(separator: "\n") {
            guard let object = try? FlockJSON.object(from: Data(line.utf8)) as? [String: Any],
                  let epoch = FlockJSON.number(object["epoch"]), epoch == epoch.rounded(), epoch >= 0 else { continue }
            var values: [String: Double] = [:]
            for (key, value) in object { if let number = FlockJSON.number(value) { values[key] = number } }
            byEpoch[Int(epoch)] = values
        }
        return byEpoch.keys.sorted().map { EpochValues(epoch: $0, values: byEpoch[$0]!) }
    }

    private static func epochs(store: ExperimentStore, runID: String) -> [EpochValues] {
        let records = (try? store.metrics(runID: runID)) ?? []
        return Dictionary(grouping: records, by: \.epoch).sorted { $0.key < $1.key }.map { epoch, metrics in
            EpochValues(epoch: epoch, values: Dictionary(metrics.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 }))
        }
    }

    /// Kept checkpoints (`epoch-NNNN`, `step-NNNNNNNN`) with the epoch they end and the
    /// rollback count their `state.json` records; oldest first.
    static func checkpointStates(_ folder: URL) -> [(epoch: Int, rollbacks: Int)] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
            .filter { $0.hasPrefix("epoch-") || $0.hasPrefix("step-") }
        let states: [(epoch: Int, rollbacks: Int)] = names.compactMap { name in
            let state = (try? Data(contentsOf: folder.appendingPathComponent(name).appendingPathComponent("state.json")))
                .flatMap { try? FlockJSON.object(from: $0) as? [String: Any] }
            let epoch = name.hasPrefix("epoch-") ? Int(name.dropFirst(6)) : state?["epoch"] as? Int
            guard let epoch else { return nil }
            let callbacks = state?["callbacks"] as? [String: Any]
            let rollbacks = (callbacks?["terminate_on_nan"] as? [String: Any])?["rollbacks"] as? Int ?? 0
            return (epoch, rollbacks)
        }
        return states.sorted { $0.epoch < $1.epoch }
    }

    static func rollbacks(_ checkpoints: [(epoch: Int, rollbacks: Int)]) -> NaNRollbacks? {
        guard let most = checkpoints.map(\.rollbacks).max(), most > 0,
              let first = checkpoints.first(where: { $0.rollbacks == most }) else { return nil }
        return NaNRollbacks(count: most, byEpoch: first.epoch)
    }
}
