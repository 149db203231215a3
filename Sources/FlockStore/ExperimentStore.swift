import Foundation
import GRDB

/// The experiment store: one SQLite file in WAL mode (readers never wait for the writer)
/// holding runs, their per-epoch metrics and their checkpoints.
///
/// In a data-parallel job only rank 0 writes. Every write is one short transaction, so a
/// killed run leaves the store consistent (its run reads `interrupted`, see `RunRecord.liveStatus`,
/// and a resume carries on in the same record).
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

    /// One write transaction; a failure becomes a `StoreError` naming the file.
    func write(_ body: @escaping @Sendable (Database) throws -> Void) throws {
        do { try database.write(body) } catch {
            throw StoreError(path: path, reason: "\(error)")
        }
    }

    /// One read snapshot; a failure becomes a `StoreError` naming the file.
    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) throws -> T {
        do { return try database.read(body) } catch {
            throw StoreError(path: path, reason: "\(error)")
        }
    }
}
