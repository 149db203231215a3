import Foundation
import GRDB

/// How one attempt at a trial ended.
public enum TrialOutcome: Sendable, Equatable {
    /// Ran to the end; the objective as reported.
    case complete(Double)
    /// Stopped by a pruner, after the given value.
    case pruned(Double?)
    /// Threw; the message is recorded.
    case failed(String)
}

extension ExperimentStore {
    /// Records how `worker`'s attempt at trial `id` ended, in one transaction, and returns
    /// the trial as stored. Only the worker that still holds the trial records its end (a
    /// trial requeued while its worker seemed lost is left as it is). A failure with
    /// retries left (fewer than `maxRetries`) sends the trial back to waiting. The attempt's
    /// batch job (`job`) is over either way; its last `jobState` stays.
    public func finishTrial(id: Int64, worker: String, outcome: TrialOutcome, maxRetries: Int) throws -> TrialRecord {
        let path = path
        return try immediate { db in
            guard var record = try TrialRecord.fetchOne(db, key: id) else {
                throw StoreError(path: path, reason: "trial \(id) vanished")
            }
            guard record.state == .running, record.worker == worker else { return record }
            record.finishedAt = Date()
            record.worker = nil
            record.job = nil
            switch outcome {
            case let .complete(value):
                record.state = .complete
                record.value = value
            case let .pruned(value):
                record.state = .pruned
                record.value = value
            case let .failed(message):
                record.error = message
                if record.retries < maxRetries {
                    record.state = .waiting
                    record.retries += 1
                    record.finishedAt = nil
                } else {
                    record.state = .failed
                }
            }
            try record.update(db)
            return record
        }
    }
}
