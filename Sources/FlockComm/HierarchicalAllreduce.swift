import CMPI

/// Allreduce across hosts of several ranks each: reduce inside each host in shared memory,
/// pass the partial sums from host to host among the host leaders, and hand the result
/// back inside each host — pipelined in chunks (`depth` in flight each way), so the work on
/// one chunk overlaps the network transfer of the others. The leader does the host's part
/// alone, reading and writing the other ranks' copies in shared memory: with ranks sharing
/// cores, per-chunk barriers among the host's ranks cost a quarter of the throughput on the
/// test bed (4 MB at 2 × 2 ranks, 1 Gbit/s: 0.10 against 0.13 GB/s bus bandwidth).
///
/// The order of the sum is kept: hosts hold consecutive ranks, host 0 folds its ranks'
/// values in rank order, host 1 adds its ranks' values one by one in rank order to host
/// 0's partial, and so on, so every element is ((x0 + x1) + x2) + … exactly as
/// `LocalCommunicator`, the one-node shared-memory path and `pairwiseAllreduce` compute it
/// (same bits). The last host has the result and sends it back down the chain.
///
/// Traffic: each host's link carries the buffer once each way (partials up, results
/// down) and the middle hosts' twice; a ring among leaders would carry 2(H−1)/H of it,
/// which is the same for two hosts and at most 1.5× less for more, but could not keep the
/// rank order. Flat allreduce over all ranks sends every rank's data over the host's link:
/// with R ranks per host, R times the bytes.
///
/// With `compression`, what crosses hosts is rounded to 16 bits: each host's partial by its
/// leader (with error feedback, a residual per element kept by the leader), and the result
/// by the last host's leader, which also writes the rounded value into its host's copies, so
/// every rank of every host ends with the same bits.
final class HierarchicalAllreduce<T: CommunicatorScalar> {
    let communicator: MPICommunicator
    let hierarchy: HostHierarchy
    let exchange: MPI_Comm
    /// Each local rank's copy of the buffer, by local rank.
    let peers: [UnsafeMutablePointer<T>]
    let count: Int
    let operation: ReduceOperation
    let compression: WireCompression
    /// Compressed only: the leader's residuals for the whole buffer.
    let residual: UnsafeMutablePointer<Float>?
    let sequence: Int
    let settings: MPICommunicator.CallSettings
    let error: (CommunicatorError.Reason) -> CommunicatorError
    /// Elements per chunk (the pipeline's unit).
    let chunk: Int
    let chunks: Int
    /// Chunks in flight per direction (receives posted ahead).
    let depth = 4

    private var forwardReceives: [MPI_Request?]
    private var backwardReceives: [MPI_Request?]
    private var forwardSends: [MPI_Request?]
    private var backwardSends: [MPI_Request?]

    init(communicator: MPICommunicator, hierarchy: HostHierarchy, exchange: MPI_Comm, peers: [UnsafeMutablePointer<T>],
         count: Int, operation: ReduceOperation, compression: WireCompression, residual: UnsafeMutablePointer<Float>?,
         chunk: Int, sequence: Int, settings: MPICommunicator.CallSettings) {
        precondition(compression == .none || (T.self == Float.self && (residual != nil || !hierarchy.isLeader)),
                     "compression is for Float32, with the leader's residuals")
        self.communicator = communicator
        self.hierarchy = hierarchy
        self.exchange = exchange
        self.peers = peers
        self.count = count
        self.operation = operation
        self.compression = compression
        self.residual = residual
        self.chunk = chunk
        self.chunks = (count + chunk - 1) / chunk
        self.sequence = sequence
        self.settings = settings
        error = communicator.makeError("allreduce", count, sequence, settings)
        let none = [MPI_Request?](repeating: flock_mpi_request_null(), count: chunks)
        forwardReceives = none
        backwardReceives = none
        forwardSends = none
        backwardSends = none
    }

    private var isFirst: Bool { hierarchy.hostIndex == 0 }
    private var isLast: Bool { hierarchy.hostIndex == hierarchy.hosts - 1 }
    private var isLeader: Bool { hierarchy.isLeader }
    /// Bytes of one element on the wire.
    private var wireBytes: Int { compression == .none ? MemoryLayout<T>.stride : compression.bytesPerElement }
    private var forwardTag: Int32 { Int32((sequence & 0x1FFF) * 2) }
    private var backwardTag: Int32 { forwardTag + 1 }

    func run() throws {
        // Only the leader works: it reads and writes every local copy in shared memory, so
        // no chunk waits for another rank of the host to be scheduled (ranks may share cores).
        if isLeader {
            for k in 0..<min(depth, chunks) {
                if !isFirst { try postReceive(k, forward: true) }
                if !isLast { try postReceive(k, forward: false) }
            }
            for k in 0..<chunks { try forward(k) }
            if !isLast { for k in 0..<chunks { try backward(k) } }
            // The sends read the leader's buffer and scratch, which the caller and the next
            // collective may change once this returns.
            for k in 0..<chunks {
                try wait(&forwardSends[k])
                try wait(&backwardSends[k])
            }
        }
        // Every copy holds the result once the leader is through.
        try hierarchy.memory.barrier(deadline: settings.deadline, error: error)
    }

    // MARK: The two passes (leader only)

    /// Chunk k of the pass up the chain: add the previous host's partial (if any) and this
    /// host's ranks in rank order, then send it on (or, on the last host, send the result back).
    private func forward(_ k: Int) throws {
        let range = chunkRange(k)
        if !isFirst { try wait(&forwardReceives[k]) }
        // The 16-bit send slot of chunk k was last sent from `depth` chunks ago.
        if compression != .none && k >= depth {
            if isLast { try wait(&backwardSends[k - depth]) } else { try wait(&forwardSends[k - depth]) }
        }
        var sources = peers.map { $0 + range.lowerBound }
        if !isFirst { sources.insert(partial(k, count: range.count), at: 0) }
        let all = 0..<range.count
        ReduceKernel.reduceAndPush(sources, range: all, operation: operation == .average ? .sum : operation)
        if isLast && operation == .average {
            for i in all {
                let mean = T.divided(sources[0][i], by: communicator.size)
                for copy in sources { copy[i] = mean }
            }
        }
        if compression != .none { encode(k, range: range) }
        let outgoing = compression == .none ? UnsafeMutableRawPointer(peers[0] + range.lowerBound) : sendSlot(k)
        if !isLast {
            forwardSends[k] = try post(send: true, outgoing, range.count, peer: hierarchy.hostIndex + 1, tag: forwardTag)
        } else {
            backwardSends[k] = try post(send: true, outgoing, range.count, peer: hierarchy.hostIndex - 1, tag: backwardTag)
        }
        // The slots of chunk k are consumed.
        if !isFirst && k + depth < chunks { try postReceive(k + depth, forward: true) }
    }

    /// Chunk k of the pass down the chain: the result arrives from the next host, goes on to
    /// the previous one, and is copied into every local copy.
    private func backward(_ k: Int) throws {
        let range = chunkRange(k)
        try wait(&backwardReceives[k])
        // Uncompressed, chunk k went up from the buffer that the result now overwrites.
        if compression == .none { try wait(&forwardSends[k]) }
        if !isFirst {
            backwardSends[k] = try post(send: true, backwardSlot(k), range.count, peer: hierarchy.hostIndex - 1, tag: backwardTag)
        }
        let slot = backwardSlot(k)
        for copy in peers {
            let target = copy + range.lowerBound
            if compression == .none {
                target.update(from: slot.assumingMemoryBound(to: T.self), count: range.count)
            } else {
                let floats = UnsafeMutableRawPointer(target).assumingMemoryBound(to: Float.self)
                compression.decode(slot.assumingMemoryBound(to: UInt16.self), into: floats, count: range.count)
            }
        }
        if k + depth < chunks {
            try wait(&backwardSends[k])
            try postReceive(k + depth, forward: false)
        }
    }

    // MARK: Chunks, slots and compression

    private func chunkRange(_ k: Int) -> Range<Int> { (k * chunk)..<min(count, (k + 1) * chunk) }

    /// The leader's scratch, cut into `depth` slots (k % depth) per use: received partials
    /// (wire format), decoded partials, received results (wire format), encoded outgoing values.
    private func slot(_ use: Int, _ k: Int) -> UnsafeMutableRawPointer {
        let slotBytes = chunk * MemoryLayout<Float>.stride
        precondition(4 * depth * slotBytes <= hierarchy.memory.scratchBytes, "chunk too large for the scratch segment")
        return hierarchy.memory.scratch[0] + (use * depth + k % depth) * slotBytes
    }
    private func forwardSlot(_ k: Int) -> UnsafeMutableRawPointer { slot(0, k) }
    private func backwardSlot(_ k: Int) -> UnsafeMutableRawPointer { slot(2, k) }
    private func sendSlot(_ k: Int) -> UnsafeMutableRawPointer { slot(3, k) }

    /// The previous host's partial for chunk k, as T (decoded first when compressed).
    private func partial(_ k: Int, count: Int) -> UnsafeMutablePointer<T> {
        guard compression != .none else { return forwardSlot(k).assumingMemoryBound(to: T.self) }
        let decoded = slot(1, k).assumingMemoryBound(to: Float.self)
        compression.decode(forwardSlot(k).assumingMemoryBound(to: UInt16.self), into: decoded, count: count)
        return UnsafeMutableRawPointer(decoded).assumingMemoryBound(to: T.self)
    }

    /// Rounds chunk k into the send slot, with error feedback. On the last host the rounded
    /// result also replaces every copy, as the other hosts will get it.
    private func encode(_ k: Int, range: Range<Int>) {
        guard let residual else { return }
        let values = UnsafeMutableRawPointer(peers[0] + range.lowerBound).assumingMemoryBound(to: Float.self)
        let wire = sendSlot(k).assumingMemoryBound(to: UInt16.self)
        compression.encode(values, residual: residual + range.lowerBound, into: wire, count: range.count)
        guard isLast else { return }
        for copy in peers {
            let target = UnsafeMutableRawPointer(copy + range.lowerBound).assumingMemoryBound(to: Float.self)
            compression.decode(wire, into: target, count: range.count)
        }
    }

    // MARK: MPI among the leaders

    private func postReceive(_ k: Int, forward: Bool) throws {
        let count = chunkRange(k).count
        if forward {
            forwardReceives[k] = try post(send: false, forwardSlot(k), count, peer: hierarchy.hostIndex - 1, tag: forwardTag)
        } else {
            backwardReceives[k] = try post(send: false, backwardSlot(k), count, peer: hierarchy.hostIndex + 1, tag: backwardTag)
        }
    }

    /// Posts an MPI_Isend or MPI_Irecv of `elements` wire elements to or from host `peer`'s leader.
    private func post(send: Bool, _ pointer: UnsafeMutableRawPointer, _ elements: Int, peer: Int, tag: Int32) throws -> MPI_Request? {
        let datatype = compression == .none ? T.mpiDatatype : flock_mpi_byte()
        let units = Int32(compression == .none ? elements : elements * wireBytes)
        let target = Int32(hierarchy.leaders[peer])
        var request: MPI_Request? = nil
        if send {
            try communicator.check(MPI_Isend(pointer, units, datatype, target, tag, exchange, &request),
                                   "MPI_Isend", "allreduce", count, settings)
        } else {
            try communicator.check(MPI_Irecv(pointer, units, datatype, target, tag, exchange, &request),
                                   "MPI_Irecv", "allreduce", count, settings)
        }
        return request
    }

    private func wait(_ request: inout MPI_Request?) throws {
        try communicator.wait(&request, "allreduce", count, sequence, settings)
    }
}
