import Foundation
import GRDB

/// Training runs: their lifecycle, per-epoch metrics and checkpoints.
extension ExperimentStore {
    // MARK: Writing

    /// Records a run as running: a new run, or a resumed one (same id) started again.
    public func startRun(_ run: RunRecord) throws {
        try write { db in
            if var existing = try RunRecord.fetchOne(db, key: run.id) {
                existing.status = .running
                existing.finishedAt = nil
                existing.error = nil
                existing.pid = run.pid
                existing.heartbeat = run.heartbeat
                existing.worldSize = run.worldSize
                try existing.update(db)
            } else {
                try run.insert(db)
            }
        }
    }

    /// Stores an epoch's metrics (replacing them if the epoch is logged again after a resume).
    public func recordEpoch(runID: String, epoch: Int, metrics: [String: Double], best: [String: Double]) throws {
        try write { db in
            for (name, value) in metrics where value.isFinite {
                try MetricRecord(runID: runID, epoch: epoch, name: name, value: value).save(db)
            }
            try db.execute(sql: "UPDATE run SET epochsRun = ?, best = ? WHERE id = ?",
                           arguments: [epoch, try RunRecord.encode(best), runID])
        }
    }

    public func recordCheckpoint(_ checkpoint: CheckpointRecord) throws {
        try write { db in try checkpoint.save(db) }
    }

    /// Forgets checkpoints that were deleted from disk.
    public func removeCheckpoints(runID: String, keeping names: [String]) throws {
        try write { db in
            try CheckpointRecord.filter(Column("runID") == runID).filter(!names.contains(Column("name"))).deleteAll(db)
        }
    }

    /// Marks a running run's process as alive now.
    public func runHeartbeat(id: String, at time: Date = Date()) throws {
        try write { db in
            try db.execute(sql: "UPDATE run SET heartbeat = ? WHERE id = ? AND status = 'running'", arguments: [time, id])
        }
    }

    public func finishRun(id: String, status: RunRecord.Status, error: String? = nil) throws {
        try write { db in
            try db.execute(sql: "UPDATE run SET status = ?, finishedAt = ?, error = ? WHERE id = ?",
                           arguments: [status.rawValue, Date(), error, id])
        }
    }

    // MARK: Reading

    /// All runs, newest first (none while a new store is still being set up).
    public func runs() throws -> [RunRecord] {
        try read { db in
            guard try db.tableExists(RunRecord.databaseTableName) else { return [] }
            return try RunRecord.order(Column("startedAt").desc).fetchAll(db)
        }
    }

    public func run(id: String) throws -> RunRecord? {
        try read { db in try RunRecord.fetchOne(db, key: id) }
    }

    /// A run's metrics by epoch.
    public func metrics(runID: String) throws -> [MetricRecord] {
        try read { db in
            try MetricRecord.filter(Column("runID") == runID).order(Column("epoch"), Column("name")).fetchAll(db)
        }
    }

    public func checkpoints(runID: String) throws -> [CheckpointRecord] {
        try read { db in try CheckpointRecord.filter(Column("runID") == runID).order(Column("step")).fetchAll(db) }
    }
}
