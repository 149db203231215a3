import FlockStore

/// One restart of a supervised job, as `summary.json` lists it under `"restarts"`.
public struct JobRestart: Codable, Sendable, Equatable {
    /// Why the job ended (`rank 3 exited on signal 9 (Killed)`).
    public var cause: String
    public var ranksBefore: Int
    public var ranksAfter: Int
    /// Optimizer steps trained past the checkpoint the job restarted from, done again.
    public var stepsLost: Int
    /// From the failure (mpirun's exit, or a hung job's last step) to the relaunched job's
    /// first step, host probing included.
    public var seconds: Double
    /// Where the relaunch resumed from: `memory` (a snapshot the keepers held) or `disk`
    /// (the last checkpoint, or the start when there was none); nil in records from before.
    public var source: Source?

    public enum Source: String, Codable, Sendable {
        case memory, disk
    }

    enum CodingKeys: String, CodingKey {
        case cause, seconds, source
        case ranksBefore = "ranks_before"
        case ranksAfter = "ranks_after"
        case stepsLost = "steps_lost"
    }

    public init(cause: String, ranksBefore: Int, ranksAfter: Int, stepsLost: Int, seconds: Double, source: Source? = nil) {
        self.cause = cause
        self.ranksBefore = ranksBefore
        self.ranksAfter = ranksAfter
        self.stepsLost = stepsLost
        self.seconds = seconds
        self.source = source
    }

    /// The store's row for restart `number` of run `runID`.
    public func record(runID: String, number: Int) -> RestartRecord {
        RestartRecord(runID: runID, number: number, cause: cause, ranksBefore: ranksBefore, ranksAfter: ranksAfter,
                      stepsLost: stepsLost, seconds: seconds, source: source?.rawValue)
    }
}
