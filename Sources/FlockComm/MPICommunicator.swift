import CMPI
import Foundation

/// A `Communicator` over OpenMPI.
///
/// Allreduce among ranks of one node runs in MPI-3 shared memory (`NodeSharedMemory`);
/// across nodes, a large allreduce is hierarchical when hosts hold several ranks
/// (`HierarchicalAllreduce`) and pairwise otherwise (`PairwiseAllreduce.swift`);
/// everything else uses MPI's nonblocking collectives.
/// Every wait polls with a deadline, so a silent peer becomes a thrown error instead of
/// a hang. Counts above `Int32.max` are sent in pieces.
public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public var deadline: Double
    public var step: Int?
    /// Allreduce messages of at least this many bytes use shared memory (when the whole
    /// group is on one node); smaller ones go to `MPI_Iallreduce`.
    public var sharedMemoryThresholdBytes = 0
    let comm: MPI_Comm
    let environment: MPIEnvironment
    private let ownsComm: Bool
    private var sequence = 0
    /// Shared windows for the node, when every rank of `comm` is on this node.
    private let node: NodeSharedMemory?
    /// A duplicate of `comm` for the pairwise allreduce's messages (so they never meet a
    /// user's point-to-point tags), when the ranks span several nodes.
    let exchangeComm: MPI_Comm?
    /// Allreduce messages of at least this many bytes across nodes use the pairwise exchange
    /// (`PairwiseAllreduce.swift`); smaller ones go to `MPI_Iallreduce`.
    public var pairwiseThresholdBytes = 256 << 10
    /// Which ranks share a host, when the ranks span several hosts that hold consecutive ranks.
    let hierarchy: HostHierarchy?
    /// Large allreduces across hosts of several ranks reduce inside each host first (true),
    /// or run among all ranks alike (false, the flat path; for comparisons).
    public var hierarchical = true
    /// Elements per chunk of the hierarchical allreduce's pipeline.
    public var hierarchicalChunkElements = 64 << 10

    init(comm: MPI_Comm, environment: MPIEnvironment, deadline: Double, ownsComm: Bool) throws {
        self.comm = comm
        self.environment = environment
        self.deadline = deadline
        self.ownsComm = ownsComm
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(comm, &rank)
        MPI_Comm_size(comm, &size)
        self.rank = Int(rank)
        self.size = Int(size)
        MPI_Comm_set_errhandler(comm, flock_mpi_errors_return())

        var nodeComm: MPI_Comm? = nil
        try MPIError.check(MPI_Comm_split_type(comm, flock_mpi_comm_type_shared(), rank, flock_mpi_info_null(), &nodeComm),
                           "MPI_Comm_split_type", operation: "start", rank: Int(rank), count: 0)
        var nodeSize: Int32 = 0
        MPI_Comm_size(nodeComm, &nodeSize)
        if nodeSize == size && size > 1 {
            node = try NodeSharedMemory(comm: nodeComm!, rank: Int(rank), size: Int(size), scratchBytes: 8 << 20)
            exchangeComm = nil
            hierarchy = nil
        } else {
            node = nil
            var duplicate: MPI_Comm? = nil
            if size > 1 {
                try MPIError.check(MPI_Comm_dup(comm, &duplicate), "MPI_Comm_dup", operation: "start", rank: Int(rank), count: 0)
            }
            exchangeComm = duplicate
            let found = size > 1 ? try HostHierarchy.discover(comm: comm, hostComm: nodeComm!, rank: Int(rank), size: Int(size)) : nil
            if found == nil { MPI_Comm_free(&nodeComm) }
            hierarchy = found
        }
    }

    deinit {
        for buffer in ownedBuffers { buffer.deallocate() }
        if exchangeComm != nil && !MPIEnvironment.isFinalized {
            var handle: MPI_Comm? = exchangeComm
            MPI_Comm_free(&handle)
        }
        if ownsComm && !MPIEnvironment.isFinalized {
            var handle: MPI_Comm? = comm
            MPI_Comm_free(&handle)
        }
    }

    /// Whether allreduce runs in shared memory (every rank on one node).
    public var usesSharedMemory: Bool { node != nil }

    /// Hosts the ranks span, when they hold consecutive ranks (1 on one node; 0 when unknown:
    /// several hosts whose ranks interleave).
    public var hosts: Int { node != nil || size == 1 ? 1 : hierarchy?.hosts ?? 0 }

    /// Whether large allreduces reduce inside each host before crossing hosts.
    public var usesHierarchy: Bool { hierarchical && (hierarchy?.mostRanksOnAHost ?? 0) > 1 }

    /// A buffer that peers on this node can read in place, so allreduce on it copies
    /// nothing in or out (use it for the gradient buffer). Collective: every rank calls
    /// it with the same count. Ordinary memory when shared memory is not in use.
    /// The memory lives as long as this communicator.
    public func allocateBuffer<T: CommunicatorScalar>(count: Int, of type: T.Type = T.self) throws -> UnsafeMutableBufferPointer<T> {
        try environment.serializer.runInline {
            if let node { return try node.allocate(count: count, of: T.self) }
            if let hierarchy { return try hierarchy.memory.allocate(count: count, of: T.self) }
            let buffer = UnsafeMutableBufferPointer<T>.allocate(capacity: max(count, 1))
            buffer.initialize(repeating: .zero)
            ownedBuffers.append(UnsafeMutableRawPointer(buffer.baseAddress!))
            return UnsafeMutableBufferPointer(rebasing: buffer[0..<count])
        }
    }
    /// Ordinary memory handed out by `allocateBuffer` when shared memory is off.
    private var ownedBuffers: [UnsafeMutableRawPointer] = []

    // MARK: Plumbing

    private func nextSequence() -> Int {
        defer { sequence += 1 }
        return sequence
    }

    /// What a call reads of this communicator's mutable settings, taken on the caller's thread
    /// when the call starts: a nonblocking allreduce runs on the communication thread while
    /// the caller goes on (and may set `step` for the next step), so it must not read them.
    struct CallSettings: Sendable {
        let deadline: Double
        let step: Int?
        let sharedMemoryThresholdBytes: Int
        let pairwiseThresholdBytes: Int
        let hierarchical: Bool
        let hierarchicalChunkElements: Int
    }

    private var callSettings: CallSettings {
        CallSettings(deadline: deadline, step: step, sharedMemoryThresholdBytes: sharedMemoryThresholdBytes,
                     pairwiseThresholdBytes: pairwiseThresholdBytes, hierarchical: hierarchical,
                     hierarchicalChunkElements: max(1, min(hierarchicalChunkElements, 128 << 10)))
    }

    func makeError(_ operation: String, _ count: Int, _ sequence: Int?,
                           _ settings: CallSettings) -> (CommunicatorError.Reason) -> CommunicatorError {
        let rank = rank, step = settings.step
        return { CommunicatorError(operation: operation, rank: rank, count: count, sequence: sequence, step: step, reason: $0) }
    }

    func check(_ code: Int32, _ function: String, _ operation: String, _ count: Int, _ settings: CallSettings) throws {
        try MPIError.check(code, function, operation: operation, rank: rank, count: count, step: settings.step)
    }

    /// Waits for `request` by polling, so the wait can end at the deadline.
    func wait(_ request: inout MPI_Request?, _ operation: String, _ count: Int, _ sequence: Int?,
                      _ settings: CallSettings, status: UnsafeMutablePointer<MPI_Status>? = nil) throws {
        var flag: Int32 = 0
        var waiting = SpinWait(seconds: settings.deadline)
        while true {
            try check(MPI_Test(&request, &flag, status ?? flock_mpi_status_ignore()), "MPI_Test", operation, count, settings)
            if flag != 0 { return }
            if !waiting.keepWaiting() {
                throw makeError(operation, count, sequence, settings)(.timedOut(seconds: settings.deadline, missingRanks: []))
            }
        }
    }

    /// Checks that every rank called the same operation with the same count and
    /// agreement value (root, reduce operation), in one small allreduce. Returns whether
    /// every rank's `eligible` was true (a decision all ranks must take alike).
    @discardableResult
    private func verifyAgreement(_ operation: String, code: Int, count: Int, agreement: Int, sequence: Int,
                                 settings: CallSettings, eligible: Bool = true) throws -> Bool {
        var values: [Int64] = [Int64(code), -Int64(code), Int64(count), -Int64(count), Int64(agreement), -Int64(agreement),
                               eligible ? 0 : 1, 0]
        var request: MPI_Request? = nil
        try values.withUnsafeMutableBytes { bytes in
            try check(MPI_Iallreduce(flock_mpi_in_place(), bytes.baseAddress, 8, flock_mpi_int64(), flock_mpi_max(), comm, &request),
                      "MPI_Iallreduce", operation, count, settings)
            try wait(&request, operation, count, sequence, settings)
        }
        if values[0] != -values[1] {
            throw makeError(operation, count, sequence, settings)(.mismatch("ranks called different collectives at collective #\(sequence)"))
        }
        if values[2] != -values[3] {
            throw makeError(operation, count, sequence, settings)(.mismatch("element counts range from \(-values[3]) to \(values[2])"))
        }
        if values[4] != -values[5] {
            throw makeError(operation, count, sequence, settings)(.mismatch("ranks passed different roots or reduce operations"))
        }
        return values[6] == 0
    }

    /// Runs `body` for pieces of at most `Int32.max` elements: (element offset, piece count).
    private func inPieces(_ count: Int, _ body: (Int, Int32) throws -> Void) rethrows {
        var offset = 0
        repeat {
            let piece = min(count - offset, Int(Int32.max))
            try body(offset, Int32(piece))
            offset += piece
        } while offset < count
    }

    // MARK: Collectives

    public func barrier() throws {
        let settings = callSettings
        let sequence = nextSequence()
        try environment.serializer.runInline {
            try verifyAgreement("barrier", code: 1, count: 0, agreement: 0, sequence: sequence, settings: settings)
        }
    }

    public func broadcast<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        try checkRank(root, "root", "broadcast", count: buffer.count)
        let settings = callSettings
        let sequence = nextSequence()
        try environment.serializer.runInline {
            try verifyAgreement("broadcast", code: 2, count: buffer.count, agreement: root, sequence: sequence, settings: settings)
            try inPieces(buffer.count) { offset, piece in
                var request: MPI_Request? = nil
                try check(MPI_Ibcast(buffer.baseAddress.map { $0 + offset }, piece, T.mpiDatatype, Int32(root), comm, &request),
                          "MPI_Ibcast", "broadcast", buffer.count, settings)
                try wait(&request, "broadcast", buffer.count, sequence, settings)
            }
        }
    }

    public func allreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, operation: ReduceOperation) throws {
        let settings = callSettings
        let sequence = nextSequence()
        try environment.serializer.runInline { try performAllreduce(buffer, operation: operation, sequence: sequence, settings: settings) }
    }

    private func performAllreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, operation: ReduceOperation,
                                                         compression: WireCompression = .none,
                                                         sequence: Int, settings: CallSettings) throws {
        let error = makeError("allreduce", buffer.count, sequence, settings)
        if let node, buffer.count * MemoryLayout<T>.stride >= settings.sharedMemoryThresholdBytes {
            try node.allreduce(buffer, operation: operation, deadline: settings.deadline, error: error)
            return
        }
        let large = buffer.count * MemoryLayout<T>.stride >= settings.pairwiseThresholdBytes
        // Hierarchical when it saves link traffic (several ranks on a host; large messages,
        // small ones are MPI's) or when asked to compress (any size: a gradient bucket is
        // compressed whatever its size, so error feedback sees every step of it).
        let severalPerHost = settings.hierarchical && (hierarchy?.mostRanksOnAHost ?? 0) > 1
        let wanted = buffer.count > 0 && (compression != .none || (large && severalPerHost))
        let inSharedMemory = wanted && hierarchy?.memory.holds(buffer) == true
        let agreement = ReduceOperation.allCases.firstIndex(of: operation)! + 8 * WireCompression.allCases.firstIndex(of: compression)!
        let everyRankInSharedMemory = try verifyAgreement("allreduce", code: 3, count: buffer.count, agreement: agreement,
                                                          sequence: sequence, settings: settings, eligible: inSharedMemory)
        if let hierarchy, let exchangeComm, wanted && everyRankInSharedMemory {
            let peers = try hierarchy.memory.peerCopies(of: buffer, deadline: settings.deadline, error: error)
            let residual = compression == .none || !hierarchy.isLeader ? nil
                : hierarchy.residual(address: UnsafeRawPointer(buffer.baseAddress!), count: buffer.count)
            try HierarchicalAllreduce(communicator: self, hierarchy: hierarchy, exchange: exchangeComm, peers: peers, count: buffer.count,
                                      operation: operation, compression: compression, residual: residual,
                                      chunk: settings.hierarchicalChunkElements, sequence: sequence, settings: settings).run()
            return
        }
        let mpiOperation: MPI_Op
        switch operation {
        case .sum, .average: mpiOperation = flock_mpi_sum()
        case .max: mpiOperation = flock_mpi_max()
        case .min: mpiOperation = flock_mpi_min()
        }
        if let exchangeComm, buffer.count * MemoryLayout<T>.stride >= settings.pairwiseThresholdBytes,
           buffer.count / size < Int(Int32.max) {
            try pairwiseAllreduce(buffer, operation: operation, exchange: exchangeComm, sequence: sequence, settings: settings)
            return
        }
        try inPieces(buffer.count) { offset, piece in
            var request: MPI_Request? = nil
            try check(MPI_Iallreduce(flock_mpi_in_place(), buffer.baseAddress.map { $0 + offset }, piece, T.mpiDatatype,
                                     mpiOperation, comm, &request), "MPI_Iallreduce", "allreduce", buffer.count, settings)
            try wait(&request, "allreduce", buffer.count, sequence, settings)
        }
        if operation == .average {
            for i in 0..<buffer.count { buffer[i] = T.divided(buffer[i], by: size) }
        }
    }

    /// The baseline: one blocking `MPI_Allreduce` (sum, in place), as `flock bench` compares against.
    public func mpiAllreduceSum(_ buffer: UnsafeMutableBufferPointer<Float>) throws {
        let settings = callSettings
        try environment.serializer.runInline {
            try inPieces(buffer.count) { offset, piece in
                try check(MPI_Allreduce(flock_mpi_in_place(), buffer.baseAddress.map { $0 + offset }, piece, flock_mpi_float(),
                                        flock_mpi_sum(), comm), "MPI_Allreduce", "allreduce", buffer.count, settings)
            }
        }
    }

    public func allgather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>) throws {
        try allgather(send, into: receive, counts: Array(repeating: send.count, count: size))
    }

    public func allgather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                 counts: [Int]) throws {
        try checkAllgather(send: send.count, receive: receive.count, counts: counts)
        let settings = callSettings
        let sequence = nextSequence()
        try environment.serializer.runInline {
            try performAllgather(send, into: receive, counts: counts, sequence: sequence, settings: settings)
        }
    }

    public func startAllgather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                      counts: [Int]) throws -> any PendingOperation {
        try checkAllgather(send: send.count, receive: receive.count, counts: counts)
        let sendAddress = UInt(bitPattern: send.baseAddress), sendCount = send.count
        return startInBackground(receive) { [self] restored, sequence, settings in
            let source = UnsafeBufferPointer(start: UnsafePointer<T>(bitPattern: sendAddress), count: sendCount)
            try performAllgather(source, into: restored, counts: counts, sequence: sequence, settings: settings)
        }
    }

    private func checkAllgather(send: Int, receive: Int, counts: [Int]) throws {
        try checkArgument(counts.count == size && receive == counts.reduce(0, +) && counts[rank] == send,
                          "allgather", count: send,
                          "needs \(size) counts (this rank's equal to its \(send) elements) and a receive buffer of their sum (\(counts.reduce(0, +))), got \(counts.count) counts and \(receive) elements")
    }

    /// One `MPI_Iallgatherv`, or rank by rank with broadcasts when displacements could
    /// overflow Int32. On the calling thread inside the serializer, or the communication thread.
    private func performAllgather<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                         counts: [Int], sequence: Int, settings: CallSettings) throws {
        // Every rank must pass the same counts: compare a fixed (unseeded) hash of them.
        let agreement = counts.reduce(17) { $0 &* 1_000_003 &+ $1 } & 0x3FFF_FFFF_FFFF_FFFF
        try verifyAgreement("allgather", code: 4, count: receive.count, agreement: agreement, sequence: sequence, settings: settings)
        // Gather rank by rank with broadcasts when displacements could overflow Int32.
        if receive.count > Int(Int32.max) {
            var offset = 0
            for peer in 0..<size {
                if peer == rank, counts[peer] > 0, send.baseAddress != UnsafePointer(receive.baseAddress! + offset) {
                    (receive.baseAddress! + offset).update(from: send.baseAddress!, count: counts[peer])
                }
                let slice = UnsafeMutableBufferPointer(rebasing: receive[offset..<(offset + counts[peer])])
                try inPieces(slice.count) { start, piece in
                    var request: MPI_Request? = nil
                    try check(MPI_Ibcast(slice.baseAddress.map { $0 + start }, piece, T.mpiDatatype, Int32(peer), comm, &request),
                              "MPI_Ibcast", "allgather", send.count, settings)
                    try wait(&request, "allgather", send.count, sequence, settings)
                }
                offset += counts[peer]
            }
            return
        }
        let counts32 = counts.map { Int32($0) }
        var displacements: [Int32] = []
        var running: Int32 = 0
        for count in counts32 { displacements.append(running); running += count }
        // This rank's block already in place: MPI would copy it onto itself.
        let inPlace = send.count > 0 && send.baseAddress == UnsafePointer(receive.baseAddress! + Int(displacements[rank]))
        var request: MPI_Request? = nil
        try check(MPI_Iallgatherv(inPlace ? UnsafeRawPointer(flock_mpi_in_place()) : UnsafeRawPointer(send.baseAddress),
                                  Int32(send.count), T.mpiDatatype, receive.baseAddress, counts32,
                                  displacements, T.mpiDatatype, comm, &request), "MPI_Iallgatherv", "allgather", send.count, settings)
        try wait(&request, "allgather", send.count, sequence, settings)
    }

    public func reduceScatter<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                     operation: ReduceOperation) throws {
        try checkReduceScatter(send: send.count, receive: receive.count)
        let settings = callSettings
        let sequence = nextSequence()
        try environment.serializer.runInline {
            try performReduceScatter(send, into: receive, operation: operation, sequence: sequence, settings: settings)
        }
    }

    public func startReduceScatter<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                          operation: ReduceOperation) throws -> any PendingOperation {
        try checkReduceScatter(send: send.count, receive: receive.count)
        let sendAddress = UInt(bitPattern: send.baseAddress), sendCount = send.count
        return startInBackground(receive) { [self] restored, sequence, settings in
            let source = UnsafeBufferPointer(start: UnsafePointer<T>(bitPattern: sendAddress), count: sendCount)
            try performReduceScatter(source, into: restored, operation: operation, sequence: sequence, settings: settings)
        }
    }

    /// Through the node's shared memory when the group is on one node; otherwise one
    /// `MPI_Ireduce_scatter_block` when a block's count fits MPI's Int32, else one reduce
    /// per block in pieces. On the communication thread.
    private func performReduceScatter<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                                             operation: ReduceOperation, sequence: Int, settings: CallSettings) throws {
        if let node, send.count * MemoryLayout<T>.stride >= settings.sharedMemoryThresholdBytes {
            return try node.reduceScatter(send, into: receive, operation: operation, deadline: settings.deadline,
                                          error: makeError("reduceScatter", receive.count, sequence, settings))
        }
        try verifyAgreement("reduceScatter", code: 5, count: receive.count,
                            agreement: ReduceOperation.allCases.firstIndex(of: operation)!, sequence: sequence, settings: settings)
        guard receive.count > 0 else { return }
        let mpiOperation = operation == .max ? flock_mpi_max() : operation == .min ? flock_mpi_min() : flock_mpi_sum()
        if receive.count <= Int(Int32.max) {
            var request: MPI_Request? = nil
            try check(MPI_Ireduce_scatter_block(send.baseAddress, receive.baseAddress, Int32(receive.count), T.mpiDatatype,
                                                mpiOperation, comm, &request),
                      "MPI_Ireduce_scatter_block", "reduceScatter", receive.count, settings)
            try wait(&request, "reduceScatter", receive.count, sequence, settings)
        } else {
            for owner in 0..<size {
                try inPieces(receive.count) { offset, piece in
                    var request: MPI_Request? = nil
                    let source = send.baseAddress! + owner * receive.count + offset
                    let target = owner == rank ? UnsafeMutableRawPointer(receive.baseAddress! + offset) : nil
                    try check(MPI_Ireduce(source, target, piece, T.mpiDatatype, mpiOperation, Int32(owner), comm, &request),
                              "MPI_Ireduce", "reduceScatter", receive.count, settings)
                    try wait(&request, "reduceScatter", receive.count, sequence, settings)
                }
            }
        }
        if operation == .average { for i in 0..<receive.count { receive[i] = T.divided(receive[i], by: size) } }
    }

    // MARK: Point to point

    public func send<T: CommunicatorScalar>(_ buffer: UnsafeBufferPointer<T>, to destination: Int, tag: Int) throws {
        try checkRank(destination, "destination", "send", count: buffer.count)
        try checkArgument(buffer.count <= Int(Int32.max), "send", count: buffer.count, "messages are limited to Int32.max elements")
        let settings = callSettings
        try environment.serializer.runInline {
            var request: MPI_Request? = nil
            try check(MPI_Isend(buffer.baseAddress, Int32(buffer.count), T.mpiDatatype, Int32(destination), Int32(tag), comm, &request),
                      "MPI_Isend", "send to rank \(destination) tag \(tag)", buffer.count, settings)
            try wait(&request, "send to rank \(destination) tag \(tag)", buffer.count, nil, settings)
        }
    }

    /// `MPI_Isend` straight from the array's storage, which the pending send keeps alive
    /// (and so unchanged: arrays copy on write); `wait()` polls for completion.
    public func startSend<T: CommunicatorScalar>(_ values: [T], to destination: Int, tag: Int) throws -> any PendingOperation {
        try checkRank(destination, "destination", "send", count: values.count)
        try checkArgument(values.count <= Int(Int32.max), "send", count: values.count, "messages are limited to Int32.max elements")
        let operation = "send to rank \(destination) tag \(tag)", settings = callSettings
        let pending = PendingTransfer(communicator: self, keeping: values, operation: operation, count: values.count,
                                      source: nil, settings: settings)
        try environment.serializer.runInline {
            try values.withUnsafeBufferPointer { buffer in
                try check(MPI_Isend(buffer.baseAddress, Int32(values.count), T.mpiDatatype, Int32(destination), Int32(tag), comm,
                                    &pending.request), "MPI_Isend", operation, values.count, settings)
            }
        }
        return pending
    }

    /// `MPI_Irecv` into the pending receive's array.
    public func startReceive<T: CommunicatorScalar>(count: Int, from source: Int, tag: Int) throws -> PendingReceive<T> {
        try checkRank(source, "source", "receive", count: count)
        try checkArgument(count <= Int(Int32.max), "receive", count: count, "messages are limited to Int32.max elements")
        let operation = "receive from rank \(source) tag \(tag)", settings = callSettings
        return try PendingReceive(count: count) { buffer in
            let pending = PendingTransfer(communicator: self, keeping: [T](), operation: operation, count: count,
                                          source: source, settings: settings)
            try environment.serializer.runInline {
                try check(MPI_Irecv(buffer.baseAddress, Int32(count), T.mpiDatatype, Int32(source), Int32(tag), comm, &pending.request),
                          "MPI_Irecv", operation, count, settings)
            }
            return pending
        }
    }

    /// A point-to-point `MPI_Request` in flight; a send keeps the array it sends from. One
    /// never completed (a failed step) keeps it to the process's end rather than free it
    /// under MPI's feet.
    private final class PendingTransfer<T: CommunicatorScalar>: PendingOperation {
        let communicator: MPICommunicator
        var request: MPI_Request? = nil
        let values: [T]
        let operation: String
        let count: Int
        /// The sender, for a receive: named when it never sends.
        let source: Int?
        let settings: CallSettings
        var isComplete = false

        init(communicator: MPICommunicator, keeping values: [T], operation: String, count: Int, source: Int?,
             settings: CallSettings) {
            (self.communicator, self.values, self.operation, self.count, self.source, self.settings) =
                (communicator, values, operation, count, source, settings)
        }

        deinit {
            if !isComplete && !values.isEmpty { _ = Unmanaged.passRetained(AbandonedStorage(values)) }
        }

        func test() throws -> Bool {
            if isComplete { return true }
            var flag: Int32 = 0
            var status = MPI_Status()
            try communicator.environment.serializer.runInline {
                try communicator.check(MPI_Test(&request, &flag, &status), "MPI_Test", operation, count, settings)
            }
            if flag != 0 { try finish(status) }
            return isComplete
        }

        func wait() throws {
            var waiting = SpinWait(seconds: settings.deadline)
            while try !test() {
                if !waiting.keepWaiting() {
                    throw communicator.makeError(operation, count, nil, settings)(
                        .timedOut(seconds: settings.deadline, missingRanks: source.map { [$0] } ?? []))
                }
            }
        }

        /// A receive must hold exactly the posted count.
        private func finish(_ status: MPI_Status) throws {
            isComplete = true
            guard source != nil else { return }
            var status = status
            var received: Int32 = 0
            MPI_Get_count(&status, T.mpiDatatype, &received)
            guard Int(received) == count else {
                throw communicator.makeError(operation, count, nil, settings)(.mismatch("message has \(received) elements"))
            }
        }
    }

    public func receive<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, from source: Int, tag: Int) throws {
        try checkRank(source, "source", "receive", count: buffer.count)
        let settings = callSettings
        let operation = "receive from rank \(source) tag \(tag)"
        try environment.serializer.runInline {
            // Probe first, so a message of the wrong size is an error rather than a truncation.
            var flag: Int32 = 0
            var status = MPI_Status()
            var waiting = SpinWait(seconds: settings.deadline)
            while flag == 0 {
                try check(MPI_Iprobe(Int32(source), Int32(tag), comm, &flag, &status), "MPI_Iprobe", operation, buffer.count, settings)
                if flag == 0 && !waiting.keepWaiting() {
                    throw makeError(operation, buffer.count, nil, settings)(.timedOut(seconds: settings.deadline, missingRanks: [source]))
                }
            }
            var received: Int32 = 0
            MPI_Get_count(&status, T.mpiDatatype, &received)
            guard Int(received) == buffer.count else {
                throw makeError(operation, buffer.count, nil, settings)(.mismatch("message has \(received) elements"))
            }
            var request: MPI_Request? = nil
            try check(MPI_Irecv(buffer.baseAddress, Int32(buffer.count), T.mpiDatatype, Int32(source), Int32(tag), comm, &request),
                      "MPI_Irecv", operation, buffer.count, settings)
            try wait(&request, operation, buffer.count, nil, settings)
        }
    }

    // MARK: Nonblocking and groups

    public func startAllreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>,
                                                      operation: ReduceOperation) throws -> any PendingOperation {
        startInBackground(buffer) { [self] restored, sequence, settings in
            try performAllreduce(restored, operation: operation, sequence: sequence, settings: settings)
        }
    }

    /// `startAllreduce` whose part across hosts goes on the wire as `compression` (16 bits
    /// with error feedback, see `WireCompression`), at any size. On one node, or when the
    /// buffer is not from `allocateBuffer`, it is the plain allreduce.
    public func startAllreduce(_ buffer: UnsafeMutableBufferPointer<Float>, operation: ReduceOperation,
                               compression: WireCompression) throws -> any PendingOperation {
        startInBackground(buffer) { [self] restored, sequence, settings in
            try performAllreduce(restored, operation: operation, compression: compression, sequence: sequence, settings: settings)
        }
    }

    /// Runs `work` on the communication thread with this call's sequence number and
    /// settings, taken now in program order; `buffer` stays the caller's until `wait()`.
    private func startInBackground<T: CommunicatorScalar>(
        _ buffer: UnsafeMutableBufferPointer<T>,
        _ work: @escaping @Sendable (UnsafeMutableBufferPointer<T>, Int, CallSettings) throws -> Void
    ) -> any PendingOperation {
        let settings = callSettings
        let sequence = nextSequence()
        let pending = BackgroundOperation()
        let address = UInt(bitPattern: buffer.baseAddress), count = buffer.count
        environment.serializer.submit {
            let restored = UnsafeMutableBufferPointer(start: UnsafeMutablePointer<T>(bitPattern: address), count: count)
            do { try work(restored, sequence, settings); pending.finish(nil) } catch { pending.finish(error) }
        }
        return pending
    }

    /// The blocking form of the compressed allreduce.
    public func allreduce(_ buffer: UnsafeMutableBufferPointer<Float>, operation: ReduceOperation, compression: WireCompression) throws {
        let settings = callSettings
        let sequence = nextSequence()
        try environment.serializer.runInline {
            try performAllreduce(buffer, operation: operation, compression: compression, sequence: sequence, settings: settings)
        }
    }

    public func split(color: Int, key: Int) throws -> any Communicator {
        let settings = callSettings
        _ = nextSequence()
        return try environment.serializer.runInline {
            var newComm: MPI_Comm? = nil
            try check(MPI_Comm_split(comm, Int32(color), Int32(key), &newComm), "MPI_Comm_split", "split", 0, settings)
            return try MPICommunicator(comm: newComm!, environment: environment, deadline: deadline, ownsComm: true)
        }
    }
}
