import Foundation
import GRDB

/// A study with its trials, read in one snapshot.
public struct StudySnapshot: Sendable, Equatable {
    public let study: StudyRecord
    /// In order of `number`.
    public let trials: [TrialRecord]
}

extension ExperimentStore {
    /// Registers `study` unless a study of that name exists; returns the stored one (the
    /// existing record when there was one, so the caller can compare definitions).
    /// Atomic across processes: of two drivers registering one name, one inserts.
    public func registerStudy(_ study: StudyRecord) throws -> StudyRecord {
        try immediate { db in
            if let existing = try StudyRecord.fetchOne(db, key: study.name) { return existing }
            try study.insert(db)
            return study
        }
    }

    /// The study named `name` (the newest study when `name` is nil) and its trials; nil
    /// when there is no such study (or no study table yet, in a store opened read-only).
    public func study(named name: String?) throws -> StudySnapshot? {
        try snapshot { db in
            guard try db.tableExists(StudyRecord.databaseTableName) else { return nil }
            let study = try name.map { try StudyRecord.fetchOne(db, key: $0) }
                ?? StudyRecord.order(Column("createdAt").desc).fetchOne(db)
            guard let study else { return nil }
            return StudySnapshot(study: study, trials: try Self.trials(ofStudy: study.name, db))
        }
    }

    /// A study's trials in order of `number`.
    public func trials(ofStudy study: String) throws -> [TrialRecord] {
        try snapshot { db in try Self.trials(ofStudy: study, db) }
    }

    static func trials(ofStudy study: String, _ db: Database) throws -> [TrialRecord] {
        try TrialRecord.filter(Column("study") == study).order(Column("number")).fetchAll(db)
    }
}
