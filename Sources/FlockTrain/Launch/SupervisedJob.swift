import Foundation

/// What `flock train CONFIG --np N` asks a supervisor to run: the `flock train` job each
/// launch starts under `mpirun`, the widest and narrowest it may be, and where its ranks
/// may run.
public struct SupervisedJob: Sendable {
    /// The rank command (`flock train CONFIG --run-dir DIR …`); its `mpirunRanks` is unused.
    public var train: TrainProcess
    /// Ranks asked for (`--np`).
    public var ranks: Int
    /// Relaunches before giving up.
    public var maxRestarts: Int
    /// Fewer live ranks than this ends the job.
    public var minRanks: Int
    /// An Open MPI hostfile; nil: this machine.
    public var hostfile: String?
    /// The global batch and the model-parallel group size (pipeline × tensor): the widths
    /// a relaunch may take keep both whole.
    public var batchSize: Int
    public var modelParallel: Int
    /// No step for this long ends a launch as hung.
    public var stallSeconds: Double
    /// `elastic.snapshot_every_steps`: with it, a snapshot keeper runs on every host and
    /// a relaunch resumes from the newest snapshot they hold when it is newer than disk's.
    public var snapshotEverySteps: Int?
    /// How long a relaunch waits for lost hosts of the hostfile to answer again.
    public var hostWaitSeconds: Double

    /// The run directory, absolute (the supervisor always names one, so each launch
    /// continues the same run).
    public var runDirectory: String { train.runDirectory ?? "" }

    public init(train: TrainProcess, ranks: Int, maxRestarts: Int, minRanks: Int, hostfile: String?,
                batchSize: Int, modelParallel: Int, stallSeconds: Double, snapshotEverySteps: Int? = nil,
                hostWaitSeconds: Double = 0) {
        self.train = train
        self.ranks = ranks
        self.maxRestarts = maxRestarts
        self.minRanks = minRanks
        self.hostfile = hostfile
        self.batchSize = batchSize
        self.modelParallel = modelParallel
        self.stallSeconds = stallSeconds
        self.snapshotEverySteps = snapshotEverySteps
        self.hostWaitSeconds = hostWaitSeconds
    }

    /// The supervisor's configuration, checked: an error names the flag or config field.
    public func validate() throws {
        guard ranks >= 1 else { throw LaunchError("--np: expected a positive integer, got \(ranks)") }
        guard train.runDirectory != nil else { throw LaunchError("a supervised job needs a run directory") }
        guard minRanks <= ranks else {
            throw LaunchError("elastic.min_ranks: \(minRanks) is more than the \(ranks) ranks asked for (--np \(ranks))")
        }
        guard ElasticWidth.choose(slots: ranks, requested: ranks, minimum: minRanks, batchSize: batchSize,
                                  modelParallel: modelParallel) == ranks else {
            throw LaunchError("--np \(ranks): the global batch of \(batchSize) does not split over \(ranks / max(modelParallel, 1)) data-parallel ranks (or \(ranks) is not a multiple of pipeline × tensor = \(modelParallel))")
        }
    }

    /// The `mpirun` command line of one launch of `width` ranks.
    func command(width: Int, resume: Bool, hostfile: String?, exported: [String]) -> [String] {
        var train = self.train
        train.resume = resume
        train.mpirunRanks = nil
        let rank = train.invocation(base: [:])
        var mpirun = MPIRunCommand(ranks: width)
        mpirun.hostfile = hostfile
        // On this machine alone, more ranks than cores need leave; a hostfile's slots say how many fit.
        mpirun.oversubscribe = hostfile == nil && width > ProcessInfo.processInfo.activeProcessorCount
        mpirun.exported = exported
        let words = mpirun.words(running: rank.executable.path, rank.arguments)
        // mpirun gets SIGTERM if the supervisor dies, even by SIGKILL, and ends its job.
        return Self.setpriv.map { [$0, "--pdeathsig", "TERM"] + words } ?? words
    }

    /// util-linux's `setpriv`, when installed.
    static let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }
}
