import Foundation
import GRDB

/// One relaunch of a supervised job after a lost rank or host (`flock train --np N`).
public struct RestartRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "restart"
    public var runID: String
    /// 1 for the first restart of the run, counting on across resumes.
    public var number: Int
    /// Why the job ended (`rank 3 exited on signal 9 (Killed)`).
    public var cause: String
    public var ranksBefore: Int
    public var ranksAfter: Int
    /// Optimizer steps trained past the checkpoint the job restarted from, done again.
    public var stepsLost: Int
    /// From the failure (mpirun's exit, or a hung job's last step) to the relaunched job's
    /// first step, host probing included.
    public var seconds: Double
    /// `memory` (resumed from a snapshot the keepers held) or `disk` (the last checkpoint).
    public var source: String?
    public var recordedAt: Date

    public init(runID: String, number: Int, cause: String, ranksBefore: Int, ranksAfter: Int, stepsLost: Int,
                seconds: Double, source: String? = nil, recordedAt: Date = Date()) {
        self.runID = runID
        self.number = number
        self.cause = cause
        self.ranksBefore = ranksBefore
        self.ranksAfter = ranksAfter
        self.stepsLost = stepsLost
        self.seconds = seconds
        self.source = source
        self.recordedAt = recordedAt
    }
}
