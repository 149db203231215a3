import FlockStore
import FlockTrain
import Foundation

/// A study as stored: its trials, the best one, and the best trial's training config.
public struct StudyReport {
    public let study: StudyRecord
    public let trials: [TrialRecord]

    /// Reads `study` (default: the newest study) from the store at `storePath`.
    public init(storePath: String, study name: String?) throws {
        let store = try ExperimentStore(path: storePath, readOnly: true)
        guard let found = try store.study(named: name) else {
            throw SweepError(description: name.map { "\(storePath): no study '\($0)'" } ?? "\(storePath): no study")
        }
        study = found.study
        trials = found.trials
    }

    /// The complete trial with the best value in the study's direction.
    public var best: TrialRecord? {
        let complete = trials.filter { $0.state == .complete && $0.value != nil }
        return study.direction == "maximize" ? complete.max { $0.value! < $1.value! } : complete.min { $0.value! < $1.value! }
    }

    /// The training config of `trial`, ready to run: the study's stored base (the resolved
    /// config as YAML, as every version of the store holds it) decoded, with the trial's
    /// parameters set on their fields.
    public func bestConfigYAML(_ trial: TrialRecord) throws -> String {
        let params = try JSONDecoder().decode([String: ParameterValue].self, from: Data(trial.params.utf8))
        let base = try ConfigLoader.decode(yaml: study.base, baseDirectory: "/", fileName: "study '\(study.name)' base")
        return try ConfigLoader.yaml(of: try base.setting(params))
    }

    /// The study's search space, from the sweep definition stored with it.
    public func parameters() throws -> [ParameterSpec] {
        try ConfigLoader.decode(SweepFile.self, yaml: study.definition, fileName: "study '\(study.name)' sweep definition").space
    }

    public static func jsonObject(_ trial: TrialRecord) -> [String: Any] {
        var object: [String: Any] = ["number": trial.number, "state": trial.state.rawValue, "retries": trial.retries,
                                     "params": (try? FlockJSON.object(from: Data(trial.params.utf8))) ?? [:]]
        if let value = trial.value { object["value"] = value }
        if let duration = trial.duration { object["seconds"] = duration }
        if let error = trial.error { object["error"] = error }
        if let directory = trial.runDirectory { object["run_directory"] = directory }
        if let job = trial.job { object["job"] = job }
        if let jobState = trial.jobState { object["job_state"] = jobState }
        return object
    }
}
