import FlockStore
import FlockSweep
import FlockTrain
import Foundation
import GRDB

/// `flock trials STORE --export-optuna FILE`: a study of Flock's store written as an
/// Optuna RDB storage (SQLite, Optuna 5.1.0's schema: `OptunaSchema`), so that
/// `optuna.load_study(study_name=…, storage="sqlite:///FILE")` and optuna-dashboard open
/// it. The store is read through its typed API; the Optuna file is a separate database,
/// written to a temporary name and renamed over `FILE`.
///
/// Trials keep their numbers, states (waiting → WAITING, running → RUNNING, complete →
/// COMPLETE, pruned → PRUNED, failed → FAIL), parameters (with each one's distribution
/// from the sweep definition), values (a pruned trial's last value, as Optuna keeps it),
/// intermediate values by step (epoch), and start and end times; a trial's run
/// directory, retries and error are user attributes.
public enum OptunaStudyExport {
    /// The Optuna version whose schema the file has (the tests install `optuna==` this).
    public static let optunaVersion = OptunaSchema.libraryVersion

    /// Writes `study` (default: the newest) of the store at `storePath` to `file`; returns
    /// the study's name and how many trials were written.
    @discardableResult
    public static func write(storePath: String, study name: String?, to file: URL) throws -> (study: String, trials: Int) {
        let report = try StudyReport(storePath: storePath, study: name)
        let curves = try ExperimentStore(path: storePath, readOnly: true).curves(ofStudy: report.study.name)
        let space = Dictionary(try report.parameters().map { ($0.name, $0.domain) }) { a, _ in a }
        let valuesByNumber = Dictionary(curves.map { ($0.number, $0.values) }) { a, _ in a }
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).tmp-\(getpid())")
        try? FileManager.default.removeItem(at: temporary)
        do {
            let queue = try DatabaseQueue(path: temporary.path)
            try queue.write { db in
                try OptunaSchema.create(db)
                try db.execute(sql: "INSERT INTO studies (study_id, study_name) VALUES (1, ?)", arguments: [report.study.name])
                try db.execute(sql: "INSERT INTO study_directions (direction, study_id, objective) VALUES (?, 1, 0)",
                               arguments: [report.study.direction == "maximize" ? "MAXIMIZE" : "MINIMIZE"])
                for trial in report.trials {
                    try insert(trial, intermediate: valuesByNumber[trial.number] ?? [:], space: space, db)
                }
            }
            try queue.close()
            guard rename(temporary.path, file.path) == 0 else { throw OptunaError("rename failed: \(String(cString: strerror(errno)))") }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw OptunaError("\(file.path): could not write the Optuna study: \(error)")
        }
        return (report.study.name, report.trials.count)
    }

    static func state(_ state: TrialRecord.State) -> String {
        switch state {
        case .waiting: return "WAITING"
        case .running: return "RUNNING"
        case .complete: return "COMPLETE"
        case .pruned: return "PRUNED"
        case .failed: return "FAIL"
        }
    }

    private static func insert(_ trial: TrialRecord, intermediate: [Int: Double], space: [String: ParameterSpec.Domain],
                               _ db: Database) throws {
        try db.execute(sql: "INSERT INTO trials (number, study_id, state, datetime_start, datetime_complete) VALUES (?, 1, ?, ?, ?)",
                       arguments: [trial.number, state(trial.state), OptunaSchema.datetime(trial.startedAt),
                                   OptunaSchema.datetime(trial.state == .running || trial.state == .waiting ? nil : trial.finishedAt)])
        let id = db.lastInsertedRowID
        let params = try JSONDecoder().decode([String: ParameterValue].self, from: Data(trial.params.utf8))
        for (name, value) in params.sorted(by: { $0.key < $1.key }) {
            guard let domain = space[name], let stored = OptunaDistribution.internalValue(value, in: domain) else {
                throw OptunaError("trial \(trial.number): parameter \(name)=\(value) is not in the study's search space")
            }
            try db.execute(sql: "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES (?, ?, ?, ?)",
                           arguments: [id, name, stored, OptunaDistribution.json(domain)])
        }
        // Optuna gives a pruned trial its last intermediate value as its value.
        let value = trial.state == .pruned ? trial.value ?? intermediate.max { $0.key < $1.key }?.value : trial.value
        if trial.state == .complete || trial.state == .pruned, let value {
            let (number, type) = OptunaSchema.stored(value)
            try db.execute(sql: "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (?, 0, ?, ?)",
                           arguments: [id, number, type])
        }
        for (step, value) in intermediate.sorted(by: { $0.key < $1.key }) {
            let (number, type) = OptunaSchema.stored(value)
            try db.execute(sql: "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type) VALUES (?, ?, ?, ?)",
                           arguments: [id, step, number, type])
        }
        var attributes: [String: Any] = ["flock_retries": trial.retries]
        if let directory = trial.runDirectory { attributes["flock_run_directory"] = directory }
        if let error = trial.error { attributes["flock_error"] = error }
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
            let json = String(decoding: try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed]), as: UTF8.self)
            try db.execute(sql: "INSERT INTO trial_user_attributes (trial_id, \"key\", value_json) VALUES (?, ?, ?)",
                           arguments: [id, key, json])
        }
    }
}

/// An Optuna file that cannot be written or read, naming the file and what is wrong.
public struct OptunaError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
