import Foundation
import GRDB

/// When a running trial counts as lost (its driver stopped beating) and what then happens
/// to it: back to waiting while retries remain, else failed.
public struct LostTrialPolicy: Sendable, Equatable {
    /// Seconds without a heartbeat after which a running trial is lost.
    public var heartbeatTimeout: Double
    /// Attempts a trial may be retried before it is recorded failed.
    public var maxRetries: Int

    public init(heartbeatTimeout: Double, maxRetries: Int) {
        self.heartbeatTimeout = heartbeatTimeout
        self.maxRetries = maxRetries
    }
}

/// A trial to create when none is waiting.
public struct NewTrial: Sendable, Equatable {
    /// Parameter values as JSON.
    public var params: String
    public var runDirectory: String?

    public init(params: String, runDirectory: String?) {
        self.params = params
        self.runDirectory = runDirectory
    }
}

/// What a worker got when it asked for a trial.
public enum TrialClaim: Sendable, Equatable {
    /// A trial now running for this worker (a waiting one, or one just created).
    case claimed(TrialRecord)
    /// Nothing to start now, but other trials still run and may yet be retried.
    case wait
    /// Nothing to start and nothing running: the study is over.
    case done
}

extension ExperimentStore {
    /// One `BEGIN IMMEDIATE` transaction (retried with backoff while the file is busy), so
    /// no two workers, in any process, get the same trial:
    /// 1. running trials of `study` whose heartbeat is older than `policy.heartbeatTimeout`
    ///    are requeued (or failed, when their retries are spent); one whose attempt is a
    ///    batch job still out (`job` set) is requeued without counting a retry, keeping its job;
    /// 2. the waiting trial with the lowest number, if any, becomes running for `worker`;
    /// 3. otherwise `next` sees the study and all its trials and may return a new trial,
    ///    which is inserted running for `worker` with the next number.
    /// Returns `.wait` or `.done` when there is nothing to start.
    public func claimTrial(study: String, worker: String, policy: LostTrialPolicy,
                           next: @escaping @Sendable (_ study: StudyRecord, _ trials: [TrialRecord]) throws -> NewTrial?) throws -> TrialClaim {
        let path = path
        return try immediate { db in
            let now = Date()
            try Self.requeueLostTrials(study: study, policy: policy, now: now, db)
            let all = try Self.trials(ofStudy: study, db)
            if var waiting = all.first(where: { $0.state == .waiting }) {
                waiting.state = .running
                waiting.worker = worker
                waiting.heartbeat = now
                waiting.startedAt = waiting.startedAt ?? now
                try waiting.update(db)
                return .claimed(waiting)
            }
            guard let record = try StudyRecord.fetchOne(db, key: study) else {
                throw StoreError(path: path, reason: "no study '\(study)' to claim a trial of")
            }
            let stillRunning = all.contains { $0.state == .running }
            guard let new = try next(record, all) else { return stillRunning ? .wait : .done }
            var trial = TrialRecord(study: study, number: all.count, state: .running, params: new.params)
            trial.worker = worker
            trial.heartbeat = now
            trial.startedAt = now
            trial.runDirectory = new.runDirectory
            try trial.insert(db)
            return .claimed(trial)
        }
    }

    /// Requeues (or fails) the lost running trials of `study` now; returns how many it changed.
    /// `claimTrial` does this itself; this is for tools that only want to tidy up.
    @discardableResult
    public func requeueLostTrials(study: String, policy: LostTrialPolicy) throws -> Int {
        try immediate { db in try Self.requeueLostTrials(study: study, policy: policy, now: Date(), db) }
    }

    @discardableResult
    static func requeueLostTrials(study: String, policy: LostTrialPolicy, now: Date, _ db: Database) throws -> Int {
        let lost = try TrialRecord.filter(Column("study") == study && Column("state") == TrialRecord.State.running.rawValue)
            .filter(Column("heartbeat") < now.addingTimeInterval(-policy.heartbeatTimeout)).fetchAll(db)
        for var trial in lost {
            if trial.job != nil {
                // The attempt lives on as a batch job: not a failure. The next claimer takes
                // the job over (and records a failure if it is gone).
                trial.state = .waiting
                trial.worker = nil
            } else if trial.retries < policy.maxRetries {
                trial.state = .waiting
                trial.retries += 1
                trial.worker = nil
            } else {
                trial.state = .failed
                trial.error = "its driver stopped (no heartbeat for \(Int(policy.heartbeatTimeout)) s) and max_retries is spent"
                trial.finishedAt = now
            }
            try trial.update(db)
        }
        return lost.count
    }
}
