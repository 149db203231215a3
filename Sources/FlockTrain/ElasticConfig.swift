import FlockNN

/// How a supervised job (`flock train CONFIG --np N`) heals itself when a rank or host
/// dies: it is relaunched on the slots still alive, from the newest complete checkpoint.
///
/// ```yaml
/// elastic: {min_ranks: 2, max_restarts: 3, snapshot_every_steps: 20}
/// ```
public struct ElasticConfig: Codable, Equatable, Sendable {
    /// Fewer ranks than this left alive ends the job with an error (default 1).
    public var minRanks: Int?
    /// Relaunches before the supervisor gives up (default 3; `--max-restarts` overrides).
    public var maxRestarts: Int?
    /// An in-memory snapshot every this many optimizer steps (default 50), held by a keeper
    /// process on the rank's host and another on the next host of the hostfile, so a
    /// restart loses at most this many steps; disk checkpoints stay as
    /// `callbacks.model_checkpoint` says. Only a supervised job takes snapshots.
    public var snapshotEverySteps: Int?
    /// No optimizer step for this many seconds ends a launch as hung (a rank stuck, or a
    /// host gone silently so that mpirun waits on it) and relaunches it (default: the
    /// collective deadline plus 60 s, so ranks stuck in a collective give up first).
    public var stallSeconds: Double?
    /// With a hostfile, how long a relaunch waits for hosts that did not answer (lost) to
    /// answer again before it goes on without them (default 0: it takes the hosts that
    /// answer at once).
    public var hostWaitSeconds: Double?

    public static let defaultMaxRestarts = 3
    public static let defaultSnapshotEverySteps = 50

    enum CodingKeys: String, CodingKey, CaseIterable {
        case minRanks = "min_ranks"
        case maxRestarts = "max_restarts"
        case snapshotEverySteps = "snapshot_every_steps"
        case stallSeconds = "stall_seconds"
        case hostWaitSeconds = "host_wait_seconds"
    }

    public init(minRanks: Int? = nil, maxRestarts: Int? = nil, snapshotEverySteps: Int? = nil, stallSeconds: Double? = nil,
                hostWaitSeconds: Double? = nil) {
        self.minRanks = minRanks
        self.maxRestarts = maxRestarts
        self.snapshotEverySteps = snapshotEverySteps
        self.stallSeconds = stallSeconds
        self.hostWaitSeconds = hostWaitSeconds
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(minRanks: try c.decodeIfPresent(Int.self, forKey: .minRanks),
                  maxRestarts: try c.decodeIfPresent(Int.self, forKey: .maxRestarts),
                  snapshotEverySteps: try c.decodeIfPresent(Int.self, forKey: .snapshotEverySteps),
                  stallSeconds: try c.decodeIfPresent(Double.self, forKey: .stallSeconds),
                  hostWaitSeconds: try c.decodeIfPresent(Double.self, forKey: .hostWaitSeconds))
    }

    func validate(path: String) throws {
        if let minRanks { try Check.within(minRanks, 1, 1 << 20, "\(path).min_ranks") }
        if let maxRestarts { try Check.within(maxRestarts, 0, 10_000, "\(path).max_restarts") }
        if let snapshotEverySteps { try Check.within(snapshotEverySteps, 1, 1_000_000_000, "\(path).snapshot_every_steps") }
        if let stallSeconds { try Check.positive(stallSeconds, atMost: 864_000, "\(path).stall_seconds") }
        if let hostWaitSeconds { try Check.inRange(hostWaitSeconds, 0, 864_000, "\(path).host_wait_seconds") }
    }
}
