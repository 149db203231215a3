import FlockComm
import Foundation

/// How the ranks of a training job start: this process alone, N ranks as threads of this
/// process, or this process as one rank of an `mpirun` job.
public enum RankLaunch: Equatable, Sendable {
    case singleProcess
    case localRanks(Int)
    case mpirunRank

    /// The launch for a `--ranks` request in this environment; `mpirun` is recognised by
    /// the variables OpenMPI sets.
    public static func choose(ranks: Int?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> RankLaunch {
        if let ranks, ranks < 1 { throw LaunchError("--ranks: expected a positive integer, got \(ranks)") }
        if let ranks, ranks > maximumLocalRanks {
            throw LaunchError("--ranks: at most \(maximumLocalRanks) ranks run as threads of one process, got \(ranks) (start more with mpirun)")
        }
        try checkCollectiveTimeout(environment)
        let underMPIRun = MPIEnvironment.launchedByMPIRun(environment)
        if ranks != nil && underMPIRun {
            throw LaunchError("--ranks cannot be combined with mpirun: mpirun already starts the ranks")
        }
        if underMPIRun { return .mpirunRank }
        if let ranks, ranks > 1 { return .localRanks(ranks) }
        return .singleProcess
    }

    /// Threads, each with its own model, tape and data cursor: beyond this a job is
    /// better spread over processes.
    public static let maximumLocalRanks = 1024

    /// `FLOCK_COLLECTIVE_TIMEOUT`, when set, must be seconds a deadline can hold: a value
    /// that is not is an error here, not silently the default.
    static func checkCollectiveTimeout(_ environment: [String: String]) throws {
        guard let text = environment[CollectiveDeadline.variable] else { return }
        guard let seconds = Double(text), seconds > 0, seconds <= CollectiveDeadline.maximumSeconds else {
            throw LaunchError("\(CollectiveDeadline.variable): expected seconds in (0, \(Int(CollectiveDeadline.maximumSeconds))], got '\(text)'")
        }
    }

    /// This process's rank in its mpirun job (`OMPI_COMM_WORLD_RANK`), before MPI starts; nil outside one.
    public static func mpirunWorldRank(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int? {
        environment["OMPI_COMM_WORLD_RANK"].flatMap(Int.init)
    }

    /// Ranks sharing this node's cores (`OMPI_COMM_WORLD_LOCAL_SIZE` under mpirun).
    public func ranksOnNode(environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        switch self {
        case .singleProcess: return 1
        case .localRanks(let ranks): return ranks
        case .mpirunRank:
            return environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap(Int.init)
                ?? environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init) ?? 1
        }
    }
}

/// A launch that cannot be: names the flag and what was expected.
public struct LaunchError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
