import FlockComm
import Foundation

/// The folder a supervisor (`flock train --np N`) shares with the ranks it starts, named
/// to them by `FLOCK_SUPERVISOR_DIR`: rank 0 writes its optimizer step to `progress` after
/// every step (how many steps a restart loses, when the relaunched job trains again), and
/// a rank that fails writes `failures/rank-R.json` before the job ends, so the supervisor
/// tells a lost rank (no record, or only records of peers lost) from an error that would
/// happen again (a bad file: no restart).
///
/// ```
/// <run-dir>.supervisor/progress           "137"
/// <run-dir>.supervisor/failures/rank-1.json {"rank": 1, "kind": "error", "message": "…"}
/// <run-dir>.supervisor/keepers/keeper-0.json  where host 0's snapshot keeper listens (`KeeperAddress`)
/// ```
public struct SupervisorChannel: Sendable {
    public static let variable = "FLOCK_SUPERVISOR_DIR"
    /// The attempt a rank belongs to: 0 for the first launch, k after the k-th restart.
    public static let attemptVariable = "FLOCK_RESTART"

    public let folder: URL
    public var progressFile: URL { folder.appendingPathComponent("progress") }
    public var failuresFolder: URL { folder.appendingPathComponent("failures") }

    public init(folder: URL) { self.folder = folder }

    /// The channel of a supervised rank; nil for a job nobody supervises.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> SupervisorChannel? {
        environment[variable].map { SupervisorChannel(folder: URL(fileURLWithPath: $0)) }
    }

    /// Empties the channel for a new launch (the last one's progress and failures gone);
    /// the snapshot keepers' addresses stay, as the keepers do.
    public func reset() throws {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        for name in names where name != "keepers" { try? FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
        try FileManager.default.createDirectory(at: failuresFolder, withIntermediateDirectories: true)
    }

    /// The step rank 0 last reported; nil before its first.
    public func progress() -> Int? {
        guard let text = try? String(contentsOf: progressFile, encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Records why `rank` failed; the record is complete or absent (written, then renamed).
    public func recordFailure(rank: Int, _ error: any Error) {
        let failure = RankFailure(rank: rank, error: error)
        guard let data = try? JSONEncoder().encode(failure) else { return }
        let file = failuresFolder.appendingPathComponent("rank-\(rank).json")
        let temporary = failuresFolder.appendingPathComponent(".rank-\(rank).json.tmp")
        guard (try? data.write(to: temporary)) != nil else { return }
        _ = rename(temporary.path, file.path)
    }

    /// Every rank's failure record of the last launch.
    public func failures() -> [RankFailure] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: failuresFolder.path)) ?? []
        return names.filter { $0.hasPrefix("rank-") }.sorted().compactMap { name in
            (try? Data(contentsOf: failuresFolder.appendingPathComponent(name))).flatMap { try? JSONDecoder().decode(RankFailure.self, from: $0) }
        }
    }
}

/// Why one rank of a supervised job failed.
public struct RankFailure: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        /// A peer was lost (it stopped answering or died): a restart may heal it.
        case lostPeer = "lost_peer"
        /// The rank's own error (config, data, a file): it would fail again.
        case error
    }

    public var rank: Int
    public var kind: Kind
    public var message: String

    public init(rank: Int, kind: Kind, message: String) {
        self.rank = rank
        self.kind = kind
        self.message = message
    }

    public init(rank: Int, error: any Error) {
        var kind = Kind.error
        if let error = error as? CommunicatorError {
            switch error.reason {
            // An MPI call failing mid-job is its transport losing a peer.
            case .timedOut, .peerFailed, .mpi: kind = .lostPeer
            case .mismatch, .invalidArgument: kind = .error
            }
        }
        self.init(rank: rank, kind: kind, message: "\(error)")
    }
}
