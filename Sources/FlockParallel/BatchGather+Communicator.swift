import FlockComm
import FlockNN

extension BatchGather {
    /// Gathers over `group`: the ranks' row counts first, then their rows padded to the
    /// largest count, unpadded in rank order. Collective (every rank of `group` must gather
    /// the same number of times).
    static func across(_ group: any Communicator) -> BatchGather {
        BatchGather { rows, width in
            let counts = try group.allgather([Int64(rows.count / max(width, 1))]).map { Int($0[0]) }
            let most = counts.max() ?? 0
            let padded = rows + [Float](repeating: 0, count: most * width - rows.count)
            let parts = try group.allgather(padded)
            var values: [Float] = []
            values.reserveCapacity(counts.reduce(0, +) * width)
            for (rank, part) in parts.enumerated() { values += part[0..<(counts[rank] * width)] }
            return (values, counts[..<group.rank].reduce(0, +))
        }
    }

    /// A gather for a micro-batch with `samples` rows here, when every rank of `group` has
    /// some (a rank without samples runs no forward): else nil, and the loss mines this
    /// rank's rows. Collective.
    static func forMicroBatch(_ group: (any Communicator)?, samples: Int) throws -> BatchGather? {
        guard let group, group.size > 1 else { return nil }
        guard try group.allreduce([Int64(samples)], operation: .min)[0] > 0 else { return nil }
        return across(group)
    }
}
