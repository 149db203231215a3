import FlockComm
import Foundation

/// Starts a job's ranks the way `RankLaunch` says and runs `body` on each, with the
/// communicator of its rank (nil for a single process).
///
/// Under mpirun it owns MPI's lifetime: start, finalize, and on a rank's error an abort of
/// the whole job, so peers waiting in a collective do not hang. It also divides the cores
/// among the ranks of the node for BLAS (`BLASThreads`).
///
/// ```swift
/// let launcher = JobLauncher(launch: try RankLaunch.choose(ranks: 2))
/// try launcher.run { communicator in
///     let run = try TrainingRun(config: config, communicator: communicator)
///     _ = try run.run()
/// }
/// ```
public struct JobLauncher: Sendable {
    public let launch: RankLaunch
    /// Collective deadline in seconds for local ranks (MPI ranks read `FLOCK_COLLECTIVE_TIMEOUT`).
    public var deadline: Double
    /// Told about an mpirun rank's error just before the job is aborted; by default the
    /// error goes to standard error as `error: rank R: …`.
    public var onRankFailure: @Sendable (_ rank: Int, _ error: any Error) -> Void = { rank, error in
        FileHandle.standardError.write(Data("error: rank \(rank): \(error)\n".utf8))
    }

    public init(launch: RankLaunch, deadline: Double = CollectiveDeadline.fromEnvironment(ProcessInfo.processInfo.environment)) {
        self.launch = launch
        self.deadline = deadline
    }

    /// Runs `body` on every rank of this process. Errors of a single process or of local
    /// ranks are thrown; an mpirun rank's error aborts the job (exit status 1).
    public func run(_ body: @escaping @Sendable ((any Communicator)?) throws -> Void) throws {
        _ = try collect(body)
    }

    /// Runs `body` on this process's MPI rank — under mpirun, or as a one-rank MPI job
    /// (singleton) — for programs that need MPI itself (a benchmark against
    /// `MPI_Allreduce`). A rank's error is reported and aborts the job, as in `run`.
    public func collectMPI<T>(_ body: (MPICommunicator) throws -> T) throws -> (rank: Int, value: T) {
        BLASThreads.apply(ranksOnNode: RankLaunch.mpirunRank.ranksOnNode())
        let environment = try MPIEnvironment()
        let world = try environment.world()
        defer { environment.finalize() }
        do {
            return (world.rank, try body(world))
        } catch {
            onRankFailure(world.rank, error)
            // Peers may be waiting in a collective: end the whole job, non-zero.
            environment.abort(code: 1)
        }
    }

    /// Runs `body` on every rank of this process and returns the value of its first rank
    /// with that rank's number (rank 0's for a single process or local ranks; under mpirun,
    /// this process's rank): a benchmark prints what rank 0 measured.
    public func collect<T: Sendable>(_ body: @escaping @Sendable ((any Communicator)?) throws -> T) throws -> (rank: Int, value: T) {
        switch launch {
        case .singleProcess:
            BLASThreads.apply(ranksOnNode: 1)
            return (0, try body(nil))
        case .localRanks(let ranks):
            BLASThreads.apply(ranksOnNode: ranks)
            return (0, try LocalCommunicator.run(ranks: ranks, deadline: deadline) { communicator in try body(communicator) }[0])
        case .mpirunRank:
            // collectMPI divides the node's cores among its ranks.
            return try collectMPI { try body($0) }
        }
    }
}
