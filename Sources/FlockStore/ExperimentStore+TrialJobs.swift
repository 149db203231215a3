import Foundation
import GRDB

extension ExperimentStore {
    /// Records the batch job of trial `number`'s running attempt (`job`, nil to leave it) and
    /// the job's state as its scheduler names it; returns false, changing nothing, when the
    /// trial is not running (it was requeued or finished meanwhile).
    @discardableResult
    public func recordTrialJob(study: String, number: Int, job: String?, state: String?) throws -> Bool {
        try immediate { db in
            guard var trial = try TrialRecord.filter(Column("study") == study && Column("number") == number).fetchOne(db),
                  trial.state == .running else { return false }
            if let job { trial.job = job }
            trial.jobState = state
            try trial.update(db)
            return true
        }
    }

    /// Trial `number` of `study` as stored now.
    public func trial(study: String, number: Int) throws -> TrialRecord? {
        try snapshot { db in
            try TrialRecord.filter(Column("study") == study && Column("number") == number).fetchOne(db)
        }
    }
}
