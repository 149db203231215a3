import Foundation
import GRDB

/// The experiment store: one SQLite file in WAL mode (readers never wait for the writer)
/// holding runs, their per-epoch metrics and their checkpoints.
///
/// In a data-parallel job only rank 0 writes. Every write is one short transaction, so a
/// killed run leaves the store consistent (its run stays `running`, and a resume carries on).
///
/// ```swift
/// let store = try ExperimentStore(path: "runs/flock.sqlite")
/// for run in try store.runs() { print(run.name, run.status, run.best) }
/// ```
public final class ExperimentStore: Sendable {
    private let database: DatabasePool
    public let path: String

    /// Opens (creating if needed) the store at `path` and brings its schema up to date.
    /// `readOnly` opens an existing store for reading only (no schema changes), which is
    /// what a reader beside a running job wants.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        var configuration = Configuration()
        // Concurrent writers (sweep workers) wait up to 10 s for the lock instead of failing.
        configuration.busyMode = .timeout(10)
        configuration.readonly = readOnly
        do {
            if readOnly {
                guard FileManager.default.fileExists(atPath: path) else {
                    throw StoreError(path: path, reason: "no such file")
                }
            } else {
                let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            }
            database = try DatabasePool(path: path, configuration: configuration)
            if !readOnly { try Self.migrate(database) }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(path: path, reason: "\(error)")
        }
    }

    /// Two processes creating one store at once can both see it empty; the loser of that
    /// race finds the schema made when it tries again.
    private static func migrate(_ database: DatabasePool) throws {
        var attempt = 0
        while true {
            do { return try migrator.migrate(database) } catch {
                attempt += 1
                if attempt >= 5 { throw error }
                usleep(20_000 * UInt32(attempt))
            }
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("runs, metrics, checkpoints") { db in
            try db.create(table: "run") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("status", .text).notNull()
                t.column("config", .text).notNull()
                t.column("configHash", .text).notNull()
                t.column("worldSize", .integer).notNull()
                t.column("host", .text).notNull()
                t.column("directory", .text).notNull()
                t.column("startedAt", .datetime).notNull()
                t.column("finishedAt", .datetime)
                t.column("epochsRun", .integer).notNull().defaults(to: 0)
                t.column("best", .text).notNull().defaults(to: "{}")
                t.column("error", .text)
            }
            try db.create(table: "metric") { t in
                t.column("runID", .text).notNull().references("run", onDelete: .cascade)
                t.column("epoch", .integer).notNull()
                t.column("name", .text).notNull()
                t.column("value", .double).notNull()
                t.primaryKey(["runID", "epoch", "name"])
            }
            try db.create(table: "checkpoint") { t in
                t.column("runID", .text).notNull().references("run", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("epoch", .integer).notNull()
                t.column("step", .integer).notNull()
                t.column("path", .text).notNull()
                t.column("createdAt", .datetime).notNull()
                t.primaryKey(["runID", "name"])
            }
        }
        migrator.registerMigration("studies, trials") { db in
            try db.create(table: "study") { t in
                t.primaryKey("name", .text)
                t.column("definition", .text).notNull()
                t.column("base", .text).notNull()
                t.column("direction", .text).notNull()
                t.column("createdAt", .datetime).notNull()
            }
            try db.create(table: "trial") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("study", .text).notNull().references("study", onDelete: .cascade)
                t.column("number", .integer).notNull()
                t.column("state", .text).notNull()
                t.column("params", .text).notNull()
                t.column("value", .double)
                t.column("retries", .integer).notNull().defaults(to: 0)
                t.column("worker", .text)
                t.column("heartbeat", .datetime)
                t.column("startedAt", .datetime)
                t.column("finishedAt", .datetime)
                t.column("error", .text)
                t.column("runDirectory", .text)
                t.uniqueKey(["study", "number"])
            }
            try db.create(index: "trialByState", on: "trial", columns: ["study", "state"])
            try db.create(table: "intermediateValue") { t in
                t.column("trialID", .integer).notNull().references("trial", onDelete: .cascade)
                t.column("step", .integer).notNull()
                t.column("value", .double).notNull()
                t.primaryKey(["trialID", "step"])
            }
        }
        return migrator
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: it takes the write lock up front,
    /// so read-decide-write sequences (claiming a trial, sampling the next one) are atomic
    /// across processes. A busy database is retried with backoff. Internal: callers outside
    /// the store use its typed methods (studies, trials), never SQL.
    func immediate<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try database.writeWithoutTransaction { db in
                    var result: T?
                    try db.inTransaction(.immediate) {
                        result = try body(db)
                        return .commit
                    }
                    return result!
                }
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY || error.resultCode == .SQLITE_LOCKED {
                attempt += 1
                if attempt > 50 { throw StoreError(path: path, reason: "\(error)") }
                usleep(UInt32(min(200_000, 1_000 << min(attempt, 8))) + UInt32.random(in: 0..<2_000))
            } catch let error as StoreError {
                throw error
            } catch let error as DatabaseError {
                throw StoreError(path: path, reason: "\(error)")
            }
        }
    }

    /// A read in one snapshot, for inspecting the raw records (tests, tools); everything a
    /// training run or a sweep needs has a typed method.
    public func snapshot<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) throws -> T {
        try read(body)
    }

    // MARK: Writing

    /// Records a run as running: a new run, or a resumed one (same id) started again.
    public func startRun(_ run: RunRecord) throws {
        try write { db in
            if var existing = try RunRecord.fetchOne(db, key: run.id) {
                existing.status = .running
                existing.finishedAt = nil
                existing.error = nil
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

    public func finishRun(id: String, status: RunRecord.Status, error: String? = nil) throws {
        try write { db in
            try db.execute(sql: "UPDATE run SET status = ?, finishedAt = ?, error = ? WHERE id = ?",
                           arguments: [status.rawValue, Date(), error, id])
        }
    }

    private func write(_ body: @escaping @Sendable (Database) throws -> Void) throws {
        do { try database.write(body) } catch {
            throw StoreError(path: path, reason: "\(error)")
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

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) throws -> T {
        do { return try database.read(body) } catch {
            throw StoreError(path: path, reason: "\(error)")
        }
    }
}

/// A store that could not be opened, read or written.
public struct StoreError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "experiment store \(path): \(reason)" }
}
