/// A communication failure, naming the operation, the rank that saw it, the element
/// count, and the collective's sequence number and training step when known.
public struct CommunicatorError: Error, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        /// Peers did not arrive within the deadline.
        case timedOut(seconds: Double, missingRanks: [Int])
        /// Ranks called the same collective with different counts, roots or operations.
        case mismatch(String)
        /// Another rank failed, and this one stopped waiting for it.
        case peerFailed(String)
        /// An MPI call returned an error.
        case mpi(function: String, code: Int32, message: String)
        /// An argument no rank could satisfy (a root or peer outside the group, a wrong buffer size).
        case invalidArgument(String)
    }

    public let operation: String
    public let rank: Int
    public let count: Int
    /// The communicator's collective sequence number (0-based).
    public let sequence: Int?
    public let step: Int?
    public let reason: Reason

    public init(operation: String, rank: Int, count: Int, sequence: Int? = nil, step: Int? = nil, reason: Reason) {
        self.operation = operation
        self.rank = rank
        self.count = count
        self.sequence = sequence
        self.step = step
        self.reason = reason
    }

    public var description: String {
        var place = "\(operation) on rank \(rank), \(count) elements"
        if let sequence { place += ", collective #\(sequence)" }
        if let step { place += ", step \(step)" }
        switch reason {
        case let .timedOut(seconds, missing):
            let who = missing.isEmpty ? "peers" : "rank\(missing.count > 1 ? "s" : "") \(missing.map(String.init).joined(separator: ", "))"
            return "\(place): timed out after \(formatSeconds(seconds)) waiting for \(who)"
        case let .mismatch(detail): return "\(place): ranks disagree: \(detail)"
        case let .peerFailed(detail): return "\(place): stopped because another rank failed: \(detail)"
        case let .mpi(function, code, message): return "\(place): \(function) failed (MPI error \(code)): \(message)"
        case let .invalidArgument(detail): return "\(place): \(detail)"
        }
    }

    private func formatSeconds(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? "\(Int(seconds)) s" : "\(seconds) s"
    }
}

/// The default collective deadline: 300 s, or `FLOCK_COLLECTIVE_TIMEOUT` seconds.
public enum CollectiveDeadline {
    public static let defaultSeconds = 300.0
    /// Ten days: beyond that a hung peer is never reported.
    public static let maximumSeconds = 864_000.0
    public static let variable = "FLOCK_COLLECTIVE_TIMEOUT"

    public static func fromEnvironment(_ environment: [String: String]) -> Double {
        // A value that is not a finite number of seconds up to ten days is not taken (`inf`
        // would overflow the conversion to a deadline).
        if let text = environment[variable], let seconds = Double(text), seconds > 0, seconds <= maximumSeconds {
            return seconds
        }
        return defaultSeconds
    }
}

extension CommunicatorError {
    /// Whether the operation stopped because another rank had failed (a follow-on, not
    /// the cause).
    public var isPeerFailure: Bool {
        if case .peerFailed = reason { return true }
        return false
    }
}
