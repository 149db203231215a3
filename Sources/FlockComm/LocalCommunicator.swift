import Foundation

/// N ranks as threads of one process, with collectives done straight in shared memory.
///
/// It has the semantics of `MPICommunicator` (same ordering rules, deadlines and errors),
/// so a job runs unchanged with either; the test suite and `flock train --ranks N` use it.
///
/// ```swift
/// let sums = try LocalCommunicator.run(ranks: 4) { comm in
///     try comm.allreduce([Float(comm.rank)], operation: .sum)[0]   // 6 on every rank
/// }
/// ```
///
/// A communicator belongs to one rank's thread. (`@unchecked Sendable` only so that a
/// nonblocking allreduce can hand a private clone of it to its worker thread.)
public final class LocalCommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public var size: Int { group.size }
    public var deadline: Double
    public var step: Int?
    let group: LocalGroup
    /// Collectives this rank has started, in program order.
    private var sequence = 0
    /// Memory handed out by `allocateBuffer`, freed with the communicator.
    private var ownedBuffers: [UnsafeMutableRawPointer] = []
    /// Runs this rank's nonblocking collectives, one after another in the order started.
    private lazy var background = SerialWorker()
    private var backgroundStarted = false

    init(group: LocalGroup, rank: Int, deadline: Double) {
        self.group = group
        self.rank = rank
        self.deadline = deadline
    }

    deinit {
        // Its thread ends once the queued collectives ran; none is left waiting for work.
        if backgroundStarted { background.close() }
        for buffer in ownedBuffers { buffer.deallocate() }
    }

    /// Threads share one address space, so any memory serves; this is ordinary memory.
    public func allocateBuffer<T: CommunicatorScalar>(count: Int, of type: T.Type = T.self) throws -> UnsafeMutableBufferPointer<T> {
        let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(count, 1))
        buffer.initialize(repeating: .zero)
        ownedBuffers.append(UnsafeMutableRawPointer(buffer.baseAddress!))
        return UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
    }

    /// Runs `body` on `ranks` threads, each with its own communicator, and returns the
    /// results in rank order. If any rank throws, the ranks still waiting on it stop
    /// with `peerFailed`, and the first rank's own error (not a follow-on) is rethrown.
    public static func run<T: Sendable>(ranks: Int, deadline: Double = CollectiveDeadline.defaultSeconds,
                                        faults: [LocalFault] = [],
                                        _ body: @escaping @Sendable (LocalCommunicator) throws -> T) throws -> [T] {
        precondition(ranks > 0, "a local group needs at least one rank")
        let group = LocalGroup(size: ranks, faults: faults)
        let outcomes = OutcomeBox<T>(count: ranks)
        let finished = DispatchGroup()
        for rank in 0..<ranks {
            finished.enter()
            let thread = Thread {
                let communicator = LocalCommunicator(group: group, rank: rank, deadline: deadline)
                do {
                    outcomes.set(rank, .success(try body(communicator)))
                } catch {
                    if !(error is CommunicatorError) || !Self.isFollowOn(error) {
                        group.fail("rank \(rank) failed: \(error)")
                    }
                    outcomes.set(rank, .failure(error))
                }
                finished.leave()
            }
            thread.stackSize = 16 << 20
            thread.start()
        }
        finished.wait()
        return try outcomes.results()
    }

    static func isFollowOn(_ error: any Error) -> Bool {
        if let error = error as? CommunicatorError, case .peerFailed = error.reason { return true }
        return false
    }

    // MARK: Collective plumbing

    /// Starts collective number `sequence`: applies injected faults, posts, and checks agreement.
    private func begin(_ contribution: CollectiveContribution, sequence: Int) throws -> [CollectiveContribution] {
        for fault in group.faults {
            switch fault {
            case let .unresponsive(faultyRank, from) where faultyRank == rank && sequence >= from:
                // Block until the group gives up on this rank, then end like a dead process would.
                while group.failureReason == nil { usleep(10_000) }
                throw error(contribution, sequence, .peerFailed("rank \(rank) was made unresponsive"))
            case let .delay(faultyRank, collective, seconds) where faultyRank == rank && collective == sequence:
                usleep(UInt32(seconds * 1_000_000))
            default:
                break
            }
        }
        return try group.post(contribution, sequence: sequence, rank: rank, deadline: deadline) {
            error(contribution, sequence, $0)
        }
    }

    private func phase(_ number: Int, _ contribution: CollectiveContribution, sequence: Int) throws {
        try group.arrive(sequence: sequence, phase: number, rank: rank, deadline: deadline) {
            error(contribution, sequence, $0)
        }
    }

    private func error(_ contribution: CollectiveContribution, _ sequence: Int,
                       _ reason: CommunicatorError.Reason) -> CommunicatorError {
        CommunicatorError(operation: contribution.operation, rank: rank, count: contribution.count,
                          sequence: sequence, step: step, reason: reason)
    }

    private func nextSequence() -> Int {
        defer { sequence += 1 }
        return sequence
    }

    // MARK: Collectives

    public func barrier() throws {
        let sequence = nextSequence()
        defer { group.leave(sequence: sequence) }
        _ = try begin(CollectiveContribution(operation: "barrier", count: 0), sequence: sequence)
    }

    public func broadcast<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        try checkRank(root, "root", "broadcast", count: buffer.count)
        let sequence = nextSequence()
        defer { group.leave(sequence: sequence) }
        let mine = CollectiveContribution(operation: "broadcast", count: buffer.count, agreement: "root \(root)",
                                          receive: UnsafeMutableRawPointer(buffer.baseAddress))
        let all = try begin(mine, sequence: sequence)
        if rank != root, buffer.count > 0 {
            buffer.baseAddress!.update(from: all[root].receive!.assumingMemoryBound(to: T.self), count: buffer.count)
        }
        try phase(1, mine, sequence: sequence)
    }

    public func allreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, operation: ReduceOperation) throws {
        try allreduce(buffer, operation: operation, sequence: nextSequence())
    }

    /// Reduce-scatter with a "push" allgather, in place in the ranks' own buffers: rank r
    /// combines block r of every rank (in rank order, so the result is bitwise the same
    /// as `MPICommunicator`'s) and writes it into block r of every rank. Only rank r
    /// touches block r, so nothing races; one rendezvous after the pushes ends it.
    private func allreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, operation: ReduceOperation,
                                                  sequence: Int) throws {
        defer { group.leave(sequence: sequence) }
        let mine = CollectiveContribution(operation: "allreduce", count: buffer.count, agreement: operation.rawValue,
                                          receive: UnsafeMutableRawPointer(buffer.baseAddress))
        let all = try begin(mine, sequence: sequence)
        guard buffer.count > 0 else { return }
        let peers = all.map { $0.receive!.assumingMemoryBound(to: T.self) }
        ReduceKernel.reduceAndPush(peers, range: Self.block(rank, of: size, count: buffer.count), operation: operation)
        try phase(1, mine, sequence: sequence)
    }

    public func allgather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>) throws {
        try checkArgument(receive.count == send.count * size, "allgather", count: send.count,
                          "receive buffer holds \(receive.count) elements, needs \(send.count * size)")
        try allgather(send, into: receive, counts: nil)
    }

    public func allgather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                 counts: [Int]) throws {
        try checkArgument(counts.count == size && receive.count == counts.reduce(0, +), "allgatherv", count: send.count,
                          "needs \(size) counts and a receive buffer of their sum, got \(counts.count) counts and \(receive.count) elements")
        try allgather(send, into: receive, counts: Optional(counts))
    }

    private func allgather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                  counts: [Int]?) throws {
        try allgather(send, into: receive, counts: counts, sequence: nextSequence())
    }

    private func allgather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                  counts: [Int]?, sequence: Int) throws {
        defer { group.leave(sequence: sequence) }
        let mine = CollectiveContribution(operation: counts == nil ? "allgather" : "allgatherv", count: send.count,
                                          agreement: counts.map { "counts \($0)" } ?? "",
                                          send: UnsafeRawPointer(send.baseAddress))
        let all = try begin(mine, sequence: sequence)
        if let counts, let wrong = all.indices.first(where: { all[$0].count != counts[$0] }) {
            throw error(mine, sequence, .mismatch("rank \(wrong) sent \(all[wrong].count) elements, counts say \(counts[wrong])"))
        }
        var offset = 0
        for peer in 0..<size {
            let count = all[peer].count
            // In place: this rank's block is already where it goes.
            if count > 0, peer != rank || all[peer].send! != UnsafeRawPointer(receive.baseAddress! + offset) {
                (receive.baseAddress! + offset).update(from: all[peer].send!.assumingMemoryBound(to: T.self), count: count)
            }
            offset += count
        }
        try phase(1, mine, sequence: sequence)
    }

    public func reduceScatter<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                     operation: ReduceOperation) throws {
        try checkReduceScatter(send: send.count, receive: receive.count)
        try reduceScatter(send, into: receive, operation: operation, sequence: nextSequence())
    }

    private func reduceScatter<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                      operation: ReduceOperation, sequence: Int) throws {
        defer { group.leave(sequence: sequence) }
        let mine = CollectiveContribution(operation: "reduceScatter", count: receive.count, agreement: operation.rawValue,
                                          send: UnsafeRawPointer(send.baseAddress))
        let all = try begin(mine, sequence: sequence)
        let n = receive.count
        if n > 0 {
            let sources = all.map { UnsafePointer($0.send!.assumingMemoryBound(to: T.self) + rank * n) }
            ReduceKernel.combine(sources, into: receive.baseAddress!, count: n, operation: operation)
        }
        try phase(1, mine, sequence: sequence)
    }

    // MARK: Point to point

    public func send<T: CommunicatorScalar>(_ buffer: UnsafeBufferPointer<T>, to destination: Int, tag: Int) throws {
        try checkRank(destination, "destination", "send", count: buffer.count)
        group.deliver(Array(UnsafeRawBufferPointer(buffer)), from: rank, to: destination, tag: tag)
    }

    /// Local sends are buffered in the peer's mailbox: complete as soon as they start.
    public func startSend<T: CommunicatorScalar>(_ values: [T], to destination: Int, tag: Int) throws -> any PendingOperation {
        try values.withUnsafeBufferPointer { try send($0, to: destination, tag: tag) }
        return CompletedOperation()
    }

    /// Local sends land in this rank's mailbox whenever they are made: the posted receive
    /// collects its message at `wait()`.
    public func startReceive<T: CommunicatorScalar>(count: Int, from source: Int, tag: Int) throws -> PendingReceive<T> {
        try checkRank(source, "source", "receive", count: count)
        return PendingReceive(count: count) { buffer in DeferredReceive(communicator: self, buffer: buffer, source: source, tag: tag) }
    }

    private final class DeferredReceive<T: CommunicatorScalar>: PendingOperation {
        let communicator: LocalCommunicator
        let buffer: UnsafeMutableBufferPointer<T>
        let source: Int, tag: Int

        init(communicator: LocalCommunicator, buffer: UnsafeMutableBufferPointer<T>, source: Int, tag: Int) {
            (self.communicator, self.buffer, self.source, self.tag) = (communicator, buffer, source, tag)
        }

        func wait() throws { try communicator.receive(buffer, from: source, tag: tag) }

        /// Takes the message now if one with this source and tag is queued. Messages are
        /// taken in the order they were sent, so of several receives posted with one source
        /// and tag, test them in the order they were posted (as `MPI_Irecv` would match them).
        func test() throws -> Bool {
            guard communicator.group.hasMessage(from: source, to: communicator.rank, tag: tag) else { return false }
            try wait()
            return true
        }
    }

    public func receive<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, from source: Int, tag: Int) throws {
        try checkRank(source, "source", "receive", count: buffer.count)
        let message = try group.collect(from: source, to: rank, tag: tag, deadline: deadline) { reason in
            CommunicatorError(operation: "receive from rank \(source) tag \(tag)", rank: rank, count: buffer.count,
                              step: step, reason: reason)
        }
        let expected = buffer.count * MemoryLayout<T>.stride
        guard message.count == expected else {
            throw CommunicatorError(operation: "receive from rank \(source) tag \(tag)", rank: rank, count: buffer.count, step: step,
                                    reason: .mismatch("message has \(message.count / MemoryLayout<T>.stride) elements"))
        }
        message.withUnsafeBytes { UnsafeMutableRawBufferPointer(buffer).copyMemory(from: $0) }
    }

    // MARK: Nonblocking and groups

    public func startAllreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>,
                                                      operation: ReduceOperation) throws -> any PendingOperation {
        let address = UInt(bitPattern: buffer.baseAddress), count = buffer.count
        return startInBackground { worker, sequence in
            let restored = UnsafeMutableBufferPointer(start: UnsafeMutablePointer<T>(bitPattern: address), count: count)
            try worker.allreduce(restored, operation: operation, sequence: sequence)
        }
    }

    public func startReduceScatter<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                          operation: ReduceOperation) throws -> any PendingOperation {
        try checkReduceScatter(send: send.count, receive: receive.count)
        let sendAddress = UInt(bitPattern: send.baseAddress), sendCount = send.count
        let receiveAddress = UInt(bitPattern: receive.baseAddress), receiveCount = receive.count
        return startInBackground { worker, sequence in
            try worker.reduceScatter(UnsafeBufferPointer(start: UnsafePointer<T>(bitPattern: sendAddress), count: sendCount),
                                     into: UnsafeMutableBufferPointer(start: UnsafeMutablePointer<T>(bitPattern: receiveAddress),
                                                                      count: receiveCount),
                                     operation: operation, sequence: sequence)
        }
    }

    public func startAllgather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                      counts: [Int]) throws -> any PendingOperation {
        try checkArgument(counts.count == size && receive.count == counts.reduce(0, +), "allgatherv", count: send.count,
                          "needs \(size) counts and a receive buffer of their sum, got \(counts.count) counts and \(receive.count) elements")
        let sendAddress = UInt(bitPattern: send.baseAddress), sendCount = send.count
        let receiveAddress = UInt(bitPattern: receive.baseAddress), receiveCount = receive.count
        return startInBackground { worker, sequence in
            try worker.allgather(UnsafeBufferPointer(start: UnsafePointer<T>(bitPattern: sendAddress), count: sendCount),
                                 into: UnsafeMutableBufferPointer(start: UnsafeMutablePointer<T>(bitPattern: receiveAddress),
                                                                  count: receiveCount),
                                 counts: Optional(counts), sequence: sequence)
        }
    }

    /// Runs `work` beside the caller on this rank's background thread, behind the
    /// nonblocking collectives started before, with a sequence number taken now in program
    /// order. Buffers travel as addresses: they stay the caller's until `wait()`.
    private func startInBackground(_ work: @escaping @Sendable (LocalCommunicator, Int) throws -> Void) -> any PendingOperation {
        let sequence = nextSequence()
        let pending = BackgroundOperation()
        // A private clone holding this call's deadline and step: the caller may change its own
        // (the next step) while this runs.
        let worker = LocalCommunicator(group: group, rank: rank, deadline: deadline)
        worker.step = step
        backgroundStarted = true
        background.submit {
            do { try work(worker, sequence); pending.finish(nil) } catch { pending.finish(error) }
        }
        return pending
    }

    public func split(color: Int, key: Int) throws -> any Communicator {
        let sequence = nextSequence()
        defer { group.leave(sequence: sequence) }
        let mine = CollectiveContribution(operation: "split", count: 0, values: [color, key])
        let all = try begin(mine, sequence: sequence)
        let members = (0..<size).filter { all[$0].values[0] == color }
            .sorted { (all[$0].values[1], $0) < (all[$1].values[1], $1) }
        let groups = group.shared(sequence: sequence) {
            // One new group per color, made once and handed to every member.
            let colors = Set(all.map { $0.values[0] })
            return SubGroups(colors.map { c in (c, LocalGroup(size: all.filter { $0.values[0] == c }.count, faults: [])) })
        } as! SubGroups
        // Each member links its new group under this one (once: adopting is idempotent).
        group.adopt(groups.byColor[color]!)
        return LocalCommunicator(group: groups.byColor[color]!, rank: members.firstIndex(of: rank)!, deadline: deadline)
    }

    /// The half-open element range of block `index` when `count` elements are cut into `parts`.
    static func block(_ index: Int, of parts: Int, count: Int) -> Range<Int> {
        (index * count / parts)..<((index + 1) * count / parts)
    }
}

private final class SubGroups: @unchecked Sendable {
    let byColor: [Int: LocalGroup]
    init(_ pairs: [(Int, LocalGroup)]) { byColor = Dictionary(uniqueKeysWithValues: pairs) }
}



/// Per-rank results of `LocalCommunicator.run`.
private final class OutcomeBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var outcomes: [Result<T, any Error>?]

    init(count: Int) { outcomes = Array(repeating: nil, count: count) }

    func set(_ rank: Int, _ outcome: Result<T, any Error>) {
        lock.lock(); outcomes[rank] = outcome; lock.unlock()
    }

    func results() throws -> [T] {
        lock.lock(); defer { lock.unlock() }
        let failures = outcomes.compactMap { outcome -> (any Error)? in
            if case let .failure(error) = outcome { return error }
            return nil
        }
        if let root = failures.first(where: { !LocalCommunicator.isFollowOn($0) }) ?? failures.first { throw root }
        return outcomes.map { try! $0!.get() }
    }
}
