import FlockNN
import FlockStore
import FlockSweep
import FlockTrain
import Foundation
import GRDB

/// A sweep's `warm_start:`: the finished trials of an Optuna study (an RDB storage in
/// SQLite, as any Optuna 3.x–5.x writes it; only the stable tables are read) become told
/// trials of the sampler (`ToldTrial`). COMPLETE trials tell their value, PRUNED ones
/// their value or else their last intermediate value (what Optuna's own samplers use);
/// FAIL, RUNNING and WAITING trials are not finished and are left out, as are trials
/// whose parameters lie outside the sweep's space.
extension SweepConfig {
    /// The told trials of `warm_start:` (none when the sweep file has none).
    public func optunaWarmStart() throws -> [ToldTrial] {
        guard let source = warmStart else { return [] }
        let read = try OptunaStudyReader.trials(storagePath: source.storagePath, study: source.study)
        if read.direction != (maximize ? "MAXIMIZE" : "MINIMIZE") {
            throw ConfigError(path: "warm_start.study", "Optuna study '\(source.study)' is \(read.direction.lowercased())d, the sweep's objective is \(maximize ? "maximize" : "minimize")d")
        }
        return read.trials.compactMap { trial in
            guard trial.state == .complete || trial.state == .pruned, let value = trial.value, !trial.params.isEmpty,
                  trial.params.allSatisfy({ name, value in space.parameters.contains { $0.name == name && $0.contains(value) } })
            else { return nil }
            return ToldTrial(params: trial.params, value: value, state: trial.state)
        }
    }
}

/// The trials of one study in an Optuna SQLite storage, read-only.
public enum OptunaStudyReader {
    public struct Trial: Sendable, Equatable {
        public let number: Int
        /// Optuna's state in Flock's terms (FAIL → failed).
        public let state: TrialRecord.State
        public let params: [String: ParameterValue]
        /// Its value; for a pruned trial without one, its last intermediate value.
        public let value: Double?
    }

    /// The study's direction (`MINIMIZE`/`MAXIMIZE`) and trials in number order.
    public static func trials(storagePath: String, study: String) throws -> (direction: String, trials: [Trial]) {
        guard FileManager.default.fileExists(atPath: storagePath) else {
            throw ConfigError(path: "warm_start.optuna_storage", "\(storagePath): no such file")
        }
        var configuration = Configuration()
        configuration.readonly = true
        do {
            return try DatabaseQueue(path: storagePath, configuration: configuration).read { db in
                guard let studyID = try Int64.fetchOne(db, sql: "SELECT study_id FROM studies WHERE study_name = ?", arguments: [study]) else {
                    let names = try String.fetchAll(db, sql: "SELECT study_name FROM studies ORDER BY study_id")
                    throw ConfigError(path: "warm_start.study", "\(storagePath) has no Optuna study '\(study)' (it has: \(names.joined(separator: ", ")))")
                }
                let directions = try String.fetchAll(db, sql: "SELECT direction FROM study_directions WHERE study_id = ? ORDER BY objective", arguments: [studyID])
                guard directions.count == 1 else {
                    throw ConfigError(path: "warm_start.study", "Optuna study '\(study)' has \(directions.count) objectives; a sweep has one")
                }
                let rows = try Row.fetchAll(db, sql: "SELECT trial_id, number, state FROM trials WHERE study_id = ? ORDER BY number", arguments: [studyID])
                return (directions[0], try rows.map { try trial($0, db) })
            }
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(path: "warm_start.optuna_storage", "\(storagePath): cannot be read as an Optuna storage: \(error)")
        }
    }

    private static func trial(_ row: Row, _ db: Database) throws -> Trial {
        let id: Int64 = row["trial_id"]
        let state: TrialRecord.State
        switch row["state"] as String {
        case "COMPLETE": state = .complete
        case "PRUNED": state = .pruned
        case "RUNNING": state = .running
        case "WAITING": state = .waiting
        default: state = .failed
        }
        var params: [String: ParameterValue] = [:]
        for param in try Row.fetchAll(db, sql: "SELECT param_name, param_value, distribution_json FROM trial_params WHERE trial_id = ?", arguments: [id]) {
            guard let stored = param["param_value"] as Double?, let value = OptunaDistribution.value(internal: stored, json: param["distribution_json"] ?? "") else { continue }
            params[param["param_name"]] = value
        }
        var value = try Double.fetchOne(db, sql: "SELECT value FROM trial_values WHERE trial_id = ? AND objective = 0 AND value_type = 'FINITE'", arguments: [id])
        if value == nil && state == .pruned {
            value = try Double.fetchOne(db, sql: "SELECT intermediate_value FROM trial_intermediate_values WHERE trial_id = ? AND intermediate_value_type = 'FINITE' ORDER BY step DESC LIMIT 1", arguments: [id])
        }
        return Trial(number: row["number"], state: state, params: params, value: value)
    }
}
