import Foundation
import GRDB

/// The restarts of supervised runs.
extension ExperimentStore {
    /// Records a restart (replacing one of the same run and number) and the run's world size after it.
    public func recordRestart(_ restart: RestartRecord) throws {
        try write { db in
            try restart.save(db)
            try db.execute(sql: "UPDATE run SET worldSize = ? WHERE id = ?", arguments: [restart.ranksAfter, restart.runID])
        }
    }

    /// A run's restarts, first first.
    public func restarts(runID: String) throws -> [RestartRecord] {
        try read { db in
            guard try db.tableExists(RestartRecord.databaseTableName) else { return [] }
            return try RestartRecord.filter(Column("runID") == runID).order(Column("number")).fetchAll(db)
        }
    }
}
