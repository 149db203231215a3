import Foundation
import GRDB

/// A hyperparameter study: its name, the sweep file that defines it, and its direction.
public struct StudyRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "study"
    public var name: String
    /// The sweep definition, as YAML.
    public var definition: String
    /// The resolved base training config (absolute paths), as YAML.
    public var base: String
    /// `minimize` or `maximize`.
    public var direction: String
    public var createdAt: Date

    public init(name: String, definition: String, base: String, direction: String, createdAt: Date = Date()) {
        self.name = name
        self.definition = definition
        self.base = base
        self.direction = direction
        self.createdAt = createdAt
    }
}

/// One trial of a study. States: waiting → running → complete | pruned | failed
/// (a failed attempt with retries left goes back to waiting). A running trial run as a
/// batch job is queued or running in its scheduler (`jobState`).
public struct TrialRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public enum State: String, Codable, Sendable, CaseIterable {
        case waiting, running, complete, pruned, failed
    }

    public static let databaseTableName = "trial"
    public var id: Int64?
    public var study: String
    /// 0-based, in order of creation within the study.
    public var number: Int
    public var state: State
    /// Parameter values as JSON (`{"optimizer.lr": 0.01, "optimizer.name": "adam"}`).
    public var params: String
    /// The objective (as reported, not sign-flipped), when complete or pruned.
    public var value: Double?
    /// Attempts that failed and were retried.
    public var retries: Int
    /// Which driver worker holds it while running.
    public var worker: String?
    public var heartbeat: Date?
    public var startedAt: Date?
    public var finishedAt: Date?
    public var error: String?
    public var runDirectory: String?
    /// The batch job (a Slurm job ID) of the attempt still out, while one is; a driver that
    /// claims the trial takes that job over instead of starting the attempt again. Set by
    /// launchers whose trials outlive their driver, cleared when the attempt ends.
    public var job: String?
    /// The job's last known state as its scheduler names it (`PENDING` = queued, `RUNNING`,
    /// `COMPLETED`, `CANCELLED`, ...).
    public var jobState: String?

    public init(study: String, number: Int, state: State, params: String) {
        self.study = study
        self.number = number
        self.state = state
        self.params = params
        retries = 0
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) {
        id = inserted.rowID
    }

    public var duration: Double? {
        guard let startedAt, let finishedAt else { return nil }
        return finishedAt.timeIntervalSince(startedAt)
    }
}

/// A value a trial reported at a step (an epoch), which pruners compare across trials.
public struct IntermediateValueRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "intermediateValue"
    public var trialID: Int64
    public var step: Int
    public var value: Double

    public init(trialID: Int64, step: Int, value: Double) {
        self.trialID = trialID
        self.step = step
        self.value = value
    }
}
