import Foundation
import GRDB

/// The intermediate values one trial has reported, with its state: what a pruner compares.
public struct TrialCurveRecord: Sendable, Equatable {
    public let number: Int
    public let state: TrialRecord.State
    /// Step → value, as reported.
    public let values: [Int: Double]

    public init(number: Int, state: TrialRecord.State, values: [Int: Double]) {
        self.number = number
        self.state = state
        self.values = values
    }
}

extension ExperimentStore {
    /// Stores `value` at `step` for trial `trialID` (replacing a value already at that step,
    /// as a resumed trial reports it again) and returns, from the same transaction, the
    /// curves of every trial of its study that has reported anything, in order of number.
    public func recordIntermediateValue(trialID: Int64, step: Int, value: Double) throws -> [TrialCurveRecord] {
        let path = path
        return try immediate { db in
            try IntermediateValueRecord(trialID: trialID, step: step, value: value).save(db)
            guard let study = try TrialRecord.fetchOne(db, key: trialID)?.study else {
                throw StoreError(path: path, reason: "no trial with id \(trialID)")
            }
            return try Self.curves(ofStudy: study, path: path, db)
        }
    }

    /// The curves of every trial of `study` that has reported an intermediate value.
    public func curves(ofStudy study: String) throws -> [TrialCurveRecord] {
        let path = path
        return try snapshot { db in try Self.curves(ofStudy: study, path: path, db) }
    }

    static func curves(ofStudy study: String, path: String, _ db: Database) throws -> [TrialCurveRecord] {
        let rows = try Row.fetchAll(db, sql: """
            SELECT trial.number AS number, trial.state AS state, intermediateValue.step AS step, intermediateValue.value AS value
            FROM intermediateValue JOIN trial ON trial.id = intermediateValue.trialID
            WHERE trial.study = ?
            ORDER BY trial.number, intermediateValue.step
            """, arguments: [study])
        var values: [Int: [Int: Double]] = [:], states: [Int: TrialRecord.State] = [:]
        for row in rows {
            let number: Int = row["number"], state: String = row["state"]
            values[number, default: [:]][row["step"]] = row["value"]
            guard let known = TrialRecord.State(rawValue: state) else {
                throw StoreError(path: path, reason: "trial \(number) of study '\(study)' has an unknown state '\(state)'")
            }
            states[number] = known
        }
        return values.keys.sorted().map { TrialCurveRecord(number: $0, state: states[$0]!, values: values[$0]!) }
    }

    /// Marks the running trials of every worker whose name starts with `workerPrefix` as
    /// alive now (a driver beats for all its workers at once); returns how many it marked.
    @discardableResult
    public func heartbeat(workerPrefix: String) throws -> Int {
        try immediate { db in
            try db.execute(sql: "UPDATE trial SET heartbeat = ? WHERE state = 'running' AND substr(worker, 1, ?) = ?",
                           arguments: [Date(), workerPrefix.count, workerPrefix])
            return db.changesCount
        }
    }
}
