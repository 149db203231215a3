import FlockComm

/// A start-up choice made by timing on rank 0 alone and broadcast, so that every rank runs
/// the same kernels (timings differ between ranks, and ranks on different kernels would
/// round differently): the matrix-product libraries and the convolution kernels.
enum RankZeroChoice {
    /// Whether each of `shapes` takes the second kernel, as rank 0's `choose` says, on
    /// every rank of `world` (collective with several ranks; `choose` runs on rank 0 only).
    /// Without a world, this process's own `choose`.
    static func agree<Shape>(on shapes: [Shape], rank: Int, world: (any Communicator)?,
                             choose: ([Shape]) -> [Bool]) throws -> [Bool] {
        var codes = [Int64](repeating: 0, count: shapes.count)
        if rank == 0 { codes = choose(shapes).map { $0 ? 1 : 0 } }
        if let world, world.size > 1 { codes = try world.broadcast(codes, root: 0) }
        return codes.map { $0 == 1 }
    }
}
