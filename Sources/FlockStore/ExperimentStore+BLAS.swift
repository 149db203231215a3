import Foundation
import GRDB

// The BLAS kernel a run used, as JSON in `run.blas`. Kept apart from the main schema: the
// column is added on first use (one `BEGIN IMMEDIATE` transaction, so concurrent writers
// agree), and stores without it read as "not recorded".
extension ExperimentStore {
    /// Records the BLAS library, core and thread count of a run (JSON).
    public func recordBLAS(runID: String, _ json: String) throws {
        try immediate { db in
            if try !db.columns(in: "run").contains(where: { $0.name == "blas" }) {
                try db.execute(sql: "ALTER TABLE run ADD COLUMN blas TEXT")
            }
            try db.execute(sql: "UPDATE run SET blas = ? WHERE id = ?", arguments: [json, runID])
        }
    }

    /// The BLAS record of a run, or nil when none was recorded.
    public func blas(runID: String) throws -> String? {
        try snapshot { db in
            guard try db.columns(in: "run").contains(where: { $0.name == "blas" }) else { return nil }
            return try String.fetchOne(db, sql: "SELECT blas FROM run WHERE id = ?", arguments: [runID])
        }
    }

    /// The SQLite library's version, e.g. "3.40.1".
    public static var sqliteVersion: String {
        (try? DatabaseQueue().read { try String.fetchOne($0, sql: "SELECT sqlite_version()") } ?? nil) ?? "unknown"
    }
}
