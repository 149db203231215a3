import Foundation

/// What one rank brings to a collective: its kind and count (checked against every other
/// rank's), and the addresses of its buffers, which peers read or write in place.
struct CollectiveContribution: @unchecked Sendable {
    let operation: String
    let count: Int
    /// Everything else all ranks must agree on: root, reduce operation, counts.
    let agreement: String
    let send: UnsafeRawPointer?
    let receive: UnsafeMutableRawPointer?
    /// Per-rank values that need not agree (split's color and key).
    let values: [Int]

    init(operation: String, count: Int, agreement: String = "", send: UnsafeRawPointer? = nil,
         receive: UnsafeMutableRawPointer? = nil, values: [Int] = []) {
        self.operation = operation
        self.count = count
        self.agreement = agreement
        self.send = send
        self.receive = receive
        self.values = values
    }
}

/// One collective call in progress: who has arrived at which phase, and what each rank posted.
private final class Rendezvous {
    var contributions: [CollectiveContribution?]
    var arrivals: [[Bool]] = []
    var departed = 0
    var shared: AnyObject?

    init(size: Int) { contributions = Array(repeating: nil, count: size) }

    func arrived(phase: Int, size: Int) -> [Bool] {
        while arrivals.count <= phase { arrivals.append(Array(repeating: false, count: size)) }
        return arrivals[phase]
    }
}

/// The shared state of the ranks of one local group (threads of one process).
///
/// Collectives are matched by sequence number: each rank numbers its collectives in
/// program order, so call k on every rank meets at rendezvous k, even when a
/// nonblocking call runs on another thread while the rank goes on to the next one.
final class LocalGroup: @unchecked Sendable {
    let size: Int
    let faults: [LocalFault]
    private let condition = NSCondition()
    private var rendezvous: [Int: Rendezvous] = [:]
    private var failure: String?
    private var mailboxes: [MailboxKey: [[UInt8]]] = [:]
    /// Groups split from this one: a failure here reaches them, so a rank waiting in a
    /// pipeline, tensor or data group learns of a dead rank as the world does.
    private var subgroups: [LocalGroup] = []

    private struct MailboxKey: Hashable {
        let source: Int, destination: Int, tag: Int
    }

    init(size: Int, faults: [LocalFault]) {
        self.size = size
        self.faults = faults
    }

    /// Records that a rank failed, so every rank still waiting stops with `peerFailed`,
    /// here and in every group split from this one.
    func fail(_ reason: String) {
        condition.lock()
        if failure == nil { failure = reason }
        condition.broadcast()
        let below = subgroups
        condition.unlock()
        // Outside the lock: a subgroup takes its own, never this one's.
        for group in below { group.fail(reason) }
    }

    /// Makes `group` (split from this one) fail with it; failed already if this one has.
    func adopt(_ group: LocalGroup) {
        condition.lock()
        if !subgroups.contains(where: { $0 === group }) { subgroups.append(group) }
        let reason = failure
        condition.unlock()
        if let reason { group.fail(reason) }
    }

    var failureReason: String? {
        condition.lock(); defer { condition.unlock() }
        return failure
    }

    /// Posts `contribution` as `rank`'s part of collective `sequence`, waits for every rank
    /// to post, and checks that they agree. Returns all contributions in rank order.
    func post(_ contribution: CollectiveContribution, sequence: Int, rank: Int, deadline: Double,
              error: (CommunicatorError.Reason) -> CommunicatorError) throws -> [CollectiveContribution] {
        condition.lock()
        defer { condition.unlock() }
        let meeting = rendezvous[sequence] ?? Rendezvous(size: size)
        rendezvous[sequence] = meeting
        meeting.contributions[rank] = contribution
        try waitLocked(meeting, phase: 0, rank: rank, deadline: deadline, error: error)
        let all = meeting.contributions.map { $0! }
        if let disagreement = Self.disagreement(all) { throw error(.mismatch(disagreement)) }
        return all
    }

    /// A barrier among the ranks of collective `sequence` (phases after the post).
    func arrive(sequence: Int, phase: Int, rank: Int, deadline: Double,
                error: (CommunicatorError.Reason) -> CommunicatorError) throws {
        condition.lock()
        defer { condition.unlock() }
        guard let meeting = rendezvous[sequence] else { preconditionFailure("arrive before post in collective \(sequence)") }
        try waitLocked(meeting, phase: phase, rank: rank, deadline: deadline, error: error)
    }

    /// A value created once per collective by whichever rank asks first (split's new groups).
    func shared(sequence: Int, create: () -> AnyObject) -> AnyObject {
        condition.lock()
        defer { condition.unlock() }
        let meeting = rendezvous[sequence]!
        if meeting.shared == nil { meeting.shared = create() }
        return meeting.shared!
    }

    /// Marks `rank` done with collective `sequence`; the last rank out frees it.
    func leave(sequence: Int) {
        condition.lock()
        defer { condition.unlock() }
        guard let meeting = rendezvous[sequence] else { return }
        meeting.departed += 1
        if meeting.departed == size { rendezvous[sequence] = nil }
    }

    private func waitLocked(_ meeting: Rendezvous, phase: Int, rank: Int, deadline: Double,
                            error: (CommunicatorError.Reason) -> CommunicatorError) throws {
        _ = meeting.arrived(phase: phase, size: size)
        meeting.arrivals[phase][rank] = true
        condition.broadcast()
        let limit = Date().addingTimeInterval(deadline)
        while true {
            // A collective every rank reached completes, even if a rank failed afterwards
            // (before this one woke): the failure surfaces at the next collective.
            if meeting.arrivals[phase].allSatisfy({ $0 }) { return }
            if let failure { throw error(.peerFailed(failure)) }
            if !condition.wait(until: limit), Date() >= limit {
                let missing = meeting.arrivals[phase].indices.filter { !meeting.arrivals[phase][$0] }
                let thrown = error(.timedOut(seconds: deadline, missingRanks: missing))
                if failure == nil { failure = thrown.description }
                condition.broadcast()
                throw thrown
            }
        }
    }

    private static func disagreement(_ all: [CollectiveContribution]) -> String? {
        let first = all[0]
        if let other = all.firstIndex(where: { $0.operation != first.operation }) {
            return "rank 0 called \(first.operation), rank \(other) called \(all[other].operation)"
        }
        if let other = all.firstIndex(where: { $0.agreement != first.agreement }) {
            return "rank 0 passed \(first.agreement), rank \(other) passed \(all[other].agreement)"
        }
        if first.operation != "allgatherv", Set(all.map(\.count)).count > 1 {
            return "element counts per rank \(all.map(\.count))"
        }
        return nil
    }

    // MARK: Point to point

    func deliver(_ bytes: [UInt8], from source: Int, to destination: Int, tag: Int) {
        condition.lock()
        mailboxes[MailboxKey(source: source, destination: destination, tag: tag), default: []].append(bytes)
        condition.broadcast()
        condition.unlock()
    }

    /// Whether a message from `source` to `destination` with `tag` waits to be collected.
    func hasMessage(from source: Int, to destination: Int, tag: Int) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return !(mailboxes[MailboxKey(source: source, destination: destination, tag: tag)]?.isEmpty ?? true)
    }

    func collect(from source: Int, to destination: Int, tag: Int, deadline: Double,
                 error: (CommunicatorError.Reason) -> CommunicatorError) throws -> [UInt8] {
        let key = MailboxKey(source: source, destination: destination, tag: tag)
        condition.lock()
        defer { condition.unlock() }
        let limit = Date().addingTimeInterval(deadline)
        while true {
            if var queue = mailboxes[key], !queue.isEmpty {
                let message = queue.removeFirst()
                mailboxes[key] = queue.isEmpty ? nil : queue
                return message
            }
            if let failure { throw error(.peerFailed(failure)) }
            if !condition.wait(until: limit), Date() >= limit {
                throw error(.timedOut(seconds: deadline, missingRanks: [source]))
            }
        }
    }
}

/// Faults a local group can inject, for tests of what happens when a rank misbehaves.
public enum LocalFault: Sendable, Equatable {
    /// From its collective number `collective` on, `rank` stops answering (it blocks
    /// until the group gives up on it).
    case unresponsive(rank: Int, fromCollective: Int)
    /// `rank` arrives `seconds` late at collective number `collective`.
    case delay(rank: Int, collective: Int, seconds: Double)
}
