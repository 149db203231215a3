import FlockComm

/// How a job's ranks are arranged: data × pipeline × tensor, each rank with its
/// coordinates and a communicator for each group it belongs to.
///
/// Ranks are numbered tensor-fastest, then data, then pipeline (Megatron-LM's order):
/// `rank = tensor + T·(data + D·pipeline)`, so the ranks of one tensor group are
/// neighbours (on one node when they fit) and each pipeline stage is a contiguous block.
///
/// - data group: the ranks holding the same shard of the model (same pipeline stage and
///   tensor slice); they split each global batch and average gradients.
/// - pipeline group: the stages of one model replica, in stage order.
/// - tensor group: the ranks that split the same layers' weights.
///
/// ```swift
/// let layout = try ParallelLayout(world: world, pipelineStages: 2, tensorWidth: 1)  // collective
/// layout.coordinates        // (data: 1, pipeline: 0, tensor: 0) on rank 1 of 4
/// layout.dataGroup.size     // 2
/// ```
public struct ParallelLayout {
    public struct Coordinates: Equatable, Sendable, CustomStringConvertible {
        public let data: Int
        public let pipeline: Int
        public let tensor: Int
        public var description: String { "(data \(data), pipeline \(pipeline), tensor \(tensor))" }
    }

    public let world: any Communicator
    public let dataParallelSize: Int
    public let pipelineStages: Int
    public let tensorWidth: Int
    public let coordinates: Coordinates
    public let dataGroup: any Communicator
    public let pipelineGroup: any Communicator
    public let tensorGroup: any Communicator

    /// A layout problem the user can fix (sizes that do not multiply to the world size).
    public struct LayoutError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Splits `world` into its groups. Collective over `world`; a group that spans the
    /// world is the world itself, without a split.
    public init(world: any Communicator, pipelineStages: Int = 1, tensorWidth: Int = 1) throws {
        guard pipelineStages >= 1, tensorWidth >= 1 else {
            throw LayoutError(description: "pipeline stages and tensor width must be positive, got \(pipelineStages) and \(tensorWidth)")
        }
        guard world.size % (pipelineStages * tensorWidth) == 0 else {
            throw LayoutError(description: "\(world.size) ranks do not split into \(Self.describe(pipelineStages: pipelineStages, tensorWidth: tensorWidth)) (the world must be a multiple of pipeline × tensor)")
        }
        self.world = world
        self.pipelineStages = pipelineStages
        self.tensorWidth = tensorWidth
        dataParallelSize = world.size / (pipelineStages * tensorWidth)
        coordinates = Self.coordinates(ofRank: world.rank, dataParallelSize: dataParallelSize, tensorWidth: tensorWidth)
        let (d, p, t) = (coordinates.data, coordinates.pipeline, coordinates.tensor)
        // Each split keys by the coordinate that varies inside the group, so group rank = that coordinate.
        dataGroup = try Self.group(of: world, size: dataParallelSize, color: p * tensorWidth + t, key: d)
        pipelineGroup = try Self.group(of: world, size: pipelineStages, color: d * tensorWidth + t, key: p)
        tensorGroup = try Self.group(of: world, size: tensorWidth, color: p * dataParallelSize + d, key: t)
    }

    /// "2 pipeline stages × 1 tensor slice".
    public static func describe(pipelineStages: Int, tensorWidth: Int) -> String {
        "\(pipelineStages) pipeline stage\(pipelineStages == 1 ? "" : "s") × \(tensorWidth) tensor slice\(tensorWidth == 1 ? "" : "s")"
    }

    /// The coordinates of world rank `rank`.
    public static func coordinates(ofRank rank: Int, dataParallelSize: Int, tensorWidth: Int) -> Coordinates {
        Coordinates(data: (rank / tensorWidth) % dataParallelSize, pipeline: rank / (tensorWidth * dataParallelSize),
                    tensor: rank % tensorWidth)
    }

    /// World rank of the data group's rank `groupRank` (the same stage and tensor slice as this rank).
    public func worldRank(ofDataGroupRank groupRank: Int) -> Int {
        worldRank(of: Coordinates(data: groupRank, pipeline: coordinates.pipeline, tensor: coordinates.tensor))
    }

    /// The world rank at `coordinates`.
    public func worldRank(of coordinates: Coordinates) -> Int {
        coordinates.tensor + tensorWidth * (coordinates.data + dataParallelSize * coordinates.pipeline)
    }

    /// A group of `size` ranks: the world when it spans it, otherwise a split (every rank
    /// takes part in every split, as `split` requires, since `size` is the same everywhere).
    private static func group(of world: any Communicator, size: Int, color: Int, key: Int) throws -> any Communicator {
        if size == world.size { return world }
        return try world.split(color: color, key: key)
    }
}
