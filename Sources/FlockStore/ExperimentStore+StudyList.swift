import Foundation
import GRDB

extension ExperimentStore {
    /// The names of every study, oldest first (none in a store without studies, also one
    /// opened read-only before any study was made).
    public func studyNames() throws -> [String] {
        try read { db in
            guard try db.tableExists(StudyRecord.databaseTableName) else { return [] }
            return try StudyRecord.order(Column("createdAt")).fetchAll(db).map(\.name)
        }
    }
}
