import CMPI

/// Allreduce across nodes as a pairwise reduce-scatter and allgather over MPI point to point.
///
/// Rank r owns block r of the buffer (count/size elements, the first count%size blocks one
/// longer). Every rank sends block p to rank p and receives every rank's block r at once,
/// combines them in rank order (as `ReduceKernel` does in shared memory, so results are the
/// same bits as `LocalCommunicator`'s), then sends its finished block to every rank. Each
/// rank sends and receives (n−1)/n of the buffer twice, in both directions at once: on a
/// full-duplex link of B bytes/s it takes bytes/B for two ranks, where `MPI_Iallreduce`'s
/// reduce-then-broadcast for two ranks takes twice that.
extension MPICommunicator {
    func pairwiseAllreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, operation: ReduceOperation,
                                                  exchange: MPI_Comm, sequence: Int, settings: CallSettings) throws {
        let blocks = (0..<size).map { LocalCommunicator.block($0, of: size, count: buffer.count) }
        let mine = blocks[rank]
        let base = buffer.baseAddress!
        // Every other rank's copy of my block, in slots by rank.
        let received = UnsafeMutablePointer<T>.allocate(capacity: max(1, mine.count * size))
        defer { received.deallocate() }
        try exchangeBlocks("allreduce", count: buffer.count, sequence: sequence, settings: settings, exchange: exchange,
                           send: { peer in (UnsafePointer(base + blocks[peer].lowerBound), blocks[peer].count) },
                           receive: { peer in (received + peer * mine.count, mine.count) })
        let sources = (0..<size).map { $0 == rank ? base + mine.lowerBound : received + $0 * mine.count }
        ReduceKernel.reduceAndPush(sources, range: 0..<mine.count, operation: operation)
        try exchangeBlocks("allreduce", count: buffer.count, sequence: sequence, settings: settings, exchange: exchange,
                           send: { _ in (UnsafePointer(base + mine.lowerBound), mine.count) },
                           receive: { peer in (base + blocks[peer].lowerBound, blocks[peer].count) })
    }

    /// Posts a receive from and a send to every other rank at once, then waits for all.
    private func exchangeBlocks<T: CommunicatorScalar>(
        _ operation: String, count: Int, sequence: Int, settings: CallSettings, exchange: MPI_Comm,
        send: (Int) -> (UnsafePointer<T>, Int), receive: (Int) -> (UnsafeMutablePointer<T>, Int)) throws {
        var requests: [MPI_Request?] = []
        for step in 1..<size {
            // Peers in a rotating order, so no rank is everyone's first partner.
            let target = (rank + step) % size, source = (rank - step + size) % size
            let (into, receiveCount) = receive(source)
            var request: MPI_Request? = nil
            try check(MPI_Irecv(into, Int32(receiveCount), T.mpiDatatype, Int32(source), Int32(sequence & 0x3FFF), exchange, &request),
                      "MPI_Irecv", operation, count, settings)
            requests.append(request)
            let (from, sendCount) = send(target)
            try check(MPI_Isend(from, Int32(sendCount), T.mpiDatatype, Int32(target), Int32(sequence & 0x3FFF), exchange, &request),
                      "MPI_Isend", operation, count, settings)
            requests.append(request)
        }
        for index in requests.indices { try wait(&requests[index], operation, count, sequence, settings) }
    }
}
