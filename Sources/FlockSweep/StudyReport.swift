import Foundation
import GRDB
import Yams

/// A study as stored: its trials, the best one, and the best trial's training config.
public struct StudyReport {
    public let study: StudyRecord
    public let trials: [TrialRecord]

    /// Reads `study` (default: the newest study) from the store at `storePath`.
    public init(storePath: String, study name: String?) throws {
        let store = try ExperimentStore(path: storePath, readOnly: true)
        let found: (StudyRecord?, [TrialRecord]) = try store.snapshot { db in
            guard try db.tableExists("study") else { return (nil, []) }
            let study = try name.map { try StudyRecord.fetchOne(db, key: $0) }
                ?? StudyRecord.order(Column("createdAt").desc).fetchOne(db)
            let trials = try study.map { try TrialRecord.filter(Column("study") == $0.name).order(Column("number")).fetchAll(db) } ?? []
            return (study, trials)
        }
        guard let study = found.0 else {
            throw SweepError(description: name.map { "\(storePath): no study '\($0)'" } ?? "\(storePath): no study")
        }
        self.study = study
        trials = found.1
    }

    /// The complete trial with the best value in the study's direction.
    public var best: TrialRecord? {
        let complete = trials.filter { $0.state == .complete && $0.value != nil }
        return study.direction == "maximize" ? complete.max { $0.value! < $1.value! } : complete.min { $0.value! < $1.value! }
    }

    /// The training config of `trial`: the study's base with the trial's parameters, ready to run.
    public func bestConfigYAML(_ trial: TrialRecord) throws -> String {
        let params = try JSONDecoder().decode([String: ParameterValue].self, from: Data(trial.params.utf8))
        let config = try ConfigLoader.decode(yaml: study.base, overrides: SweepConfig.overrides(params), baseDirectory: "/")
        return try ConfigLoader.yaml(of: config)
    }

    public static func jsonObject(_ trial: TrialRecord) -> [String: Any] {
        var object: [String: Any] = ["number": trial.number, "state": trial.state.rawValue, "retries": trial.retries,
                                     "params": (try? JSONSerialization.jsonObject(with: Data(trial.params.utf8))) ?? [:]]
        if let value = trial.value { object["value"] = value }
        if let duration = trial.duration { object["seconds"] = duration }
        if let error = trial.error { object["error"] = error }
        if let directory = trial.runDirectory { object["run_directory"] = directory }
        return object
    }
}
