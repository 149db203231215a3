extension NodeSharedMemory {
    /// Whether `buffer` lies in one of this node's shared allocations.
    func holds<T>(_ buffer: UnsafeMutableBufferPointer<T>) -> Bool {
        locate(UnsafeRawPointer(buffer.baseAddress), bytes: buffer.count * MemoryLayout<T>.stride) != nil
    }

    /// Every rank's copy of `buffer`, by node rank: each rank passes the buffer at the same
    /// place of the same shared allocation (as the gradient buffer's buckets are). Collective
    /// over the node; throws on different counts or places rather than reading garbage.
    func peerCopies<T>(of buffer: UnsafeMutableBufferPointer<T>, deadline: Double,
                       error: (CommunicatorError.Reason) -> CommunicatorError) throws -> [UnsafeMutablePointer<T>] {
        let located = locate(UnsafeRawPointer(buffer.baseAddress), bytes: buffer.count * MemoryLayout<T>.stride)
        let header = controls[rank]
        header[Header.count] = Int64(buffer.count)
        header[Header.allocation] = Int64(located?.0 ?? -1)
        header[Header.offset] = Int64(located?.1 ?? -1)
        try barrier(deadline: deadline, error: error)
        let counts = controls.map { $0[Header.count] }
        let allocationIDs = controls.map { $0[Header.allocation] }, offsets = controls.map { $0[Header.offset] }
        // Everyone has read the headers before anyone writes the next ones.
        try barrier(deadline: deadline, error: error)
        if Set(counts).count > 1 { throw error(.mismatch("element counts per rank on this host \(counts)")) }
        guard allocationIDs[0] >= 0, Set(allocationIDs).count == 1, Set(offsets).count == 1 else {
            throw error(.mismatch("the ranks of this host passed buffers at different places of shared memory (allocations \(allocationIDs), byte offsets \(offsets))"))
        }
        return allocations[Int(allocationIDs[0])].bases.map { ($0 + Int(offsets[0])).assumingMemoryBound(to: T.self) }
    }
}
