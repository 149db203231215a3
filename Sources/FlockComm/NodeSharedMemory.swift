import CMPI
import Foundation

/// MPI-3 shared windows among the ranks of one node, and the allreduce that runs in them.
///
/// Each rank owns a control page (barrier counter and the header of the current
/// collective) and a scratch segment; buffers from `allocate(count:)` are shared too.
/// Allreduce is done with plain loads and stores: rank r combines block r of every
/// rank's data (in rank order, so the result is bitwise the same everywhere) and writes
/// the result into block r of every rank. When the buffer itself lies in a shared
/// allocation (the gradient buffer does), no data is copied in or out at all; otherwise
/// it is staged through the scratch segments.
final class NodeSharedMemory {
    let rank: Int
    let size: Int
    private let comm: MPI_Comm
    private var windows: [MPI_Win?] = []
    /// Per rank: the control page (Int64 words, see `Header`).
    let controls: [UnsafeMutablePointer<Int64>]
    /// Per rank: the scratch segment.
    let scratch: [UnsafeMutableRawPointer]
    let scratchBytes: Int
    private(set) var allocations: [SharedAllocation] = []
    private var epoch: Int64 = 0

    /// Word offsets in a control page.
    enum Header {
        static let barrier = 0
        static let count = 8
        static let operation = 9
        static let allocation = 10
        static let offset = 11
        static let elementSize = 12
        static let pageBytes = 4096
    }

    struct SharedAllocation {
        let id: Int
        let bases: [UnsafeMutableRawPointer]
        let bytes: Int
    }

    /// Collective over `comm`, whose ranks must all be on this node.
    init(comm: MPI_Comm, rank: Int, size: Int, scratchBytes: Int) throws {
        self.comm = comm
        self.rank = rank
        self.size = size
        self.scratchBytes = scratchBytes
        var windowList: [MPI_Win?] = []
        let control = try Self.allocateWindow(bytes: Header.pageBytes, comm: comm, rank: rank, size: size, windows: &windowList)
        let scratchBases = try Self.allocateWindow(bytes: scratchBytes, comm: comm, rank: rank, size: size, windows: &windowList)
        windows = windowList
        controls = control.map { $0.bindMemory(to: Int64.self, capacity: Header.pageBytes / 8) }
        scratch = scratchBases
        controls[rank].initialize(repeating: 0, count: Header.pageBytes / 8)
        try barrierMPI()
    }

    deinit {
        // After MPI_Finalize the windows are gone with MPI itself.
        guard !MPIEnvironment.isFinalized else { return }
        for index in windows.indices { MPI_Win_free(&windows[index]) }
    }

    private func barrierMPI() throws {
        try MPIError.check(MPI_Barrier(comm), "MPI_Barrier", operation: "shared memory set-up", rank: rank, count: 0)
    }

    /// Allocates `bytes` on every rank in one shared window; returns each rank's base address.
    private static func allocateWindow(bytes: Int, comm: MPI_Comm, rank: Int, size: Int,
                                       windows: inout [MPI_Win?]) throws -> [UnsafeMutableRawPointer] {
        var base: UnsafeMutableRawPointer? = nil
        var window: MPI_Win? = nil
        let code = withUnsafeMutablePointer(to: &base) { basePointer in
            MPI_Win_allocate_shared(MPI_Aint(max(bytes, 64)), 1, flock_mpi_info_null(), comm, basePointer, &window)
        }
        try MPIError.check(code, "MPI_Win_allocate_shared", operation: "shared memory allocation", rank: rank, count: bytes)
        windows.append(window)
        return try (0..<size).map { peer in
            var peerBytes: MPI_Aint = 0
            var unit: Int32 = 0
            var peerBase: UnsafeMutableRawPointer? = nil
            let query = withUnsafeMutablePointer(to: &peerBase) { MPI_Win_shared_query(window, Int32(peer), &peerBytes, &unit, $0) }
            try MPIError.check(query, "MPI_Win_shared_query", operation: "shared memory allocation", rank: rank, count: bytes)
            return peerBase!
        }
    }

    /// A buffer of `count` elements in shared memory, readable by every rank of the node.
    /// Collective. The memory lives as long as this object.
    func allocate<T>(count: Int, of: T.Type) throws -> UnsafeMutableBufferPointer<T> {
        let bytes = count * MemoryLayout<T>.stride
        let bases = try Self.allocateWindow(bytes: bytes, comm: comm, rank: rank, size: size, windows: &windows)
        allocations.append(SharedAllocation(id: allocations.count, bases: bases, bytes: bytes))
        bases[rank].initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        let buffer = bases[rank].bindMemory(to: T.self, capacity: count)
        return UnsafeMutableBufferPointer(start: buffer, count: count)
    }

    /// The shared allocation and byte offset holding `pointer`, if any.
    func locate(_ pointer: UnsafeRawPointer?, bytes: Int) -> (Int, Int)? {
        guard let pointer else { return nil }
        for allocation in allocations {
            let base = UnsafeRawPointer(allocation.bases[rank])
            let offset = pointer - base
            if offset >= 0 && offset + bytes <= allocation.bytes { return (allocation.id, offset) }
        }
        return nil
    }

    // MARK: Barrier

    /// All ranks of the node meet; throws naming the ranks that did not arrive in time.
    func barrier(deadline: Double, error: (CommunicatorError.Reason) -> CommunicatorError) throws {
        epoch += 1
        flock_atomic_store(controls[rank] + Header.barrier, epoch)
        var waiting = SpinWait(seconds: deadline)
        for peer in 0..<size where peer != rank {
            while flock_atomic_load(controls[peer] + Header.barrier) < epoch {
                if !waiting.keepWaiting() {
                    let missing = (0..<size).filter { flock_atomic_load(controls[$0] + Header.barrier) < epoch }
                    throw error(.timedOut(seconds: deadline, missingRanks: missing))
                }
            }
        }
    }

    // MARK: Allreduce

    func allreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, operation: ReduceOperation,
                                          deadline: Double, error: (CommunicatorError.Reason) -> CommunicatorError) throws {
        let count = buffer.count
        let elementBytes = MemoryLayout<T>.stride
        let located = locate(UnsafeRawPointer(buffer.baseAddress), bytes: count * elementBytes)
        try announce(count: count, operation: operation, elementBytes: elementBytes, located: located, deadline: deadline, error: error)
        guard count > 0 else { return try barrier(deadline: deadline, error: error) }
        let allocationIDs = controls.map { $0[Header.allocation] }, offsets = controls.map { $0[Header.offset] }
        if allocationIDs[0] >= 0 && Set(allocationIDs).count == 1 && Set(offsets).count == 1 {
            let bases = allocations[Int(allocationIDs[0])].bases
            let peers = bases.map { ($0 + Int(offsets[0])).assumingMemoryBound(to: T.self) }
            try reduceScatterAllgather(peers: peers, count: count, operation: operation, deadline: deadline, error: error)
        } else {
            let piece = max(scratchBytes / elementBytes, size)
            var start = 0
            while start < count {
                let length = min(piece, count - start)
                scratch[rank].copyMemory(from: buffer.baseAddress! + start, byteCount: length * elementBytes)
                try barrier(deadline: deadline, error: error)
                let peers = scratch.map { $0.assumingMemoryBound(to: T.self) }
                try reduceScatterAllgather(peers: peers, count: length, operation: operation, deadline: deadline, error: error)
                (buffer.baseAddress! + start).update(from: peers[rank], count: length)
                // Scratch is reused by the next piece: wait until everyone has copied out.
                try barrier(deadline: deadline, error: error)
                start += length
            }
        }
    }

    /// Publishes this rank's call in its header and meets the others; throws on every rank
    /// when they disagree (every rank reads the same headers, so every rank decides alike).
    private func announce(count: Int, operation: ReduceOperation, elementBytes: Int, located: (Int, Int)?,
                          deadline: Double, error: (CommunicatorError.Reason) -> CommunicatorError) throws {
        let header = controls[rank]
        header[Header.count] = Int64(count)
        header[Header.operation] = Int64(ReduceOperation.allCases.firstIndex(of: operation)!)
        header[Header.elementSize] = Int64(elementBytes)
        header[Header.allocation] = Int64(located?.0 ?? -1)
        header[Header.offset] = Int64(located?.1 ?? -1)
        try barrier(deadline: deadline, error: error)
        let counts = controls.map { $0[Header.count] }
        if Set(counts).count > 1 { throw error(.mismatch("element counts per rank \(counts)")) }
        let operations = controls.map { $0[Header.operation] }, sizes = controls.map { $0[Header.elementSize] }
        if Set(operations).count > 1 || Set(sizes).count > 1 {
            throw error(.mismatch("reduce operations \(operations.map { ReduceOperation.allCases[Int($0)].rawValue }), element sizes \(sizes)"))
        }
    }

    // MARK: Reduce-scatter

    /// Block r of the combined `send`s (size × `receive.count`) into rank r's `receive`.
    /// When every rank's `send` lies in a shared allocation, rank r combines block r of
    /// each rank's `send` where it is; otherwise through the scratch windows a piece at a
    /// time: each rank copies the piece of every block into its scratch, then rank r
    /// combines piece r of every rank's scratch. Either way a rank reads (size − 1) pieces
    /// and writes one per piece: no copy through MPI.
    func reduceScatter<T: CommunicatorScalar>(_ send: UnsafeBufferPointer<T>, into receive: UnsafeMutableBufferPointer<T>,
                                              operation: ReduceOperation, deadline: Double,
                                              error: (CommunicatorError.Reason) -> CommunicatorError) throws {
        let count = receive.count, elementBytes = MemoryLayout<T>.stride
        let located = locate(UnsafeRawPointer(send.baseAddress), bytes: send.count * elementBytes)
        try announce(count: count, operation: operation, elementBytes: elementBytes, located: located, deadline: deadline, error: error)
        // With nothing to move, a barrier still keeps a fast rank from overwriting its
        // header (the next collective) before the others have read it.
        guard count > 0 else { return try barrier(deadline: deadline, error: error) }
        let allocationIDs = controls.map { Int($0[Header.allocation]) }, offsets = controls.map { Int($0[Header.offset]) }
        if allocationIDs.allSatisfy({ $0 >= 0 }) {
            let peers = (0..<size).map { peer in
                UnsafePointer((allocations[allocationIDs[peer]].bases[peer] + offsets[peer]).assumingMemoryBound(to: T.self) + rank * count)
            }
            ReduceKernel.combine(peers, into: receive.baseAddress!, count: count, operation: operation)
            // No rank may write its `send` again before every rank has read its block.
            return try barrier(deadline: deadline, error: error)
        }
        let piece = max(scratchBytes / elementBytes / size, 1)
        var start = 0
        while start < count {
            let length = min(piece, count - start)
            let mine = scratch[rank].assumingMemoryBound(to: T.self)
            for owner in 0..<size { (mine + owner * length).update(from: send.baseAddress! + owner * count + start, count: length) }
            try barrier(deadline: deadline, error: error)
            let peers = scratch.map { UnsafePointer($0.assumingMemoryBound(to: T.self) + rank * length) }
            ReduceKernel.combine(peers, into: receive.baseAddress! + start, count: length, operation: operation)
            // Scratch is reused by the next piece: wait until everyone has read its part.
            try barrier(deadline: deadline, error: error)
            start += length
        }
    }

    /// peers[p] holds rank p's `count` inputs. Rank r combines block r of every rank and
    /// writes the result straight back into block r of every rank ("push" allgather):
    /// only rank r touches block r, so the writes race with nothing, and each rank moves
    /// 2n bytes instead of the 2.5n–3n of reduce-scatter followed by a copy phase.
    private func reduceScatterAllgather<T: CommunicatorScalar>(
        peers: [UnsafeMutablePointer<T>], count: Int, operation: ReduceOperation,
        deadline: Double, error: (CommunicatorError.Reason) -> CommunicatorError
    ) throws {
        ReduceKernel.reduceAndPush(peers, range: LocalCommunicator.block(rank, of: size, count: count), operation: operation)
        // Nobody may change its data (or reuse scratch) before every push into it is done.
        try barrier(deadline: deadline, error: error)
    }

}
