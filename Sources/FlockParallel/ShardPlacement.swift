/// Where a rank's tensor sits in the model's global tensor of the same name: the global
/// shape and, for a tensor split across a tensor-parallel group, the axis and the first
/// index it holds along it. Checkpoints record it per tensor so that a shard written in
/// one layout can be loaded into another (loading intersects ranges).
///
/// ```
/// layers.0.weight  global [10, 64]  axis 0  start 4   → this rank holds rows 4..<7 (shape [3, 64])
/// layers.2.bias    global [10]      whole             → this rank holds all of it
/// ```
public struct ShardPlacement: Codable, Equatable, Sendable {
    public let globalShape: [Int]
    /// The split axis; nil when the rank holds the whole tensor.
    public let axis: Int?
    /// First index along `axis` (0 for a whole tensor).
    public let start: Int
    /// Indices held along `axis` (the whole axis for a whole tensor).
    public let length: Int

    /// A whole tensor of `shape`.
    public static func whole(_ shape: [Int]) -> ShardPlacement {
        ShardPlacement(globalShape: shape, axis: nil, start: 0, length: shape.first ?? 1)
    }

    /// The slice `start..<start+length` of `shape` along `axis`.
    public static func slice(of shape: [Int], axis: Int, start: Int, length: Int) -> ShardPlacement {
        precondition(shape.indices.contains(axis) && start >= 0 && length >= 0 && start + length <= shape[axis],
                     "slice \(start)..<\(start + length) on axis \(axis) of \(shape)")
        return ShardPlacement(globalShape: shape, axis: axis, start: start, length: length)
    }

    public var isWhole: Bool { axis == nil }

    /// The shape this rank holds.
    public var localShape: [Int] {
        guard let axis else { return globalShape }
        var shape = globalShape
        shape[axis] = length
        return shape
    }

    enum CodingKeys: String, CodingKey {
        case globalShape = "global_shape", axis, start, length
    }

    /// Copies this rank's part of a global tensor (row-major, `globalShape`) into `local`
    /// (row-major, `localShape`).
    public func extract<Element>(from global: UnsafeBufferPointer<Element>, into local: UnsafeMutableBufferPointer<Element>) {
        forEachRun { globalStart, localStart, count in
            for i in 0..<count { local[localStart + i] = global[globalStart + i] }
        }
    }

    /// Writes `local` into its place in a global tensor.
    public func insert<Element>(_ local: UnsafeBufferPointer<Element>, into global: UnsafeMutableBufferPointer<Element>) {
        forEachRun { globalStart, localStart, count in
            for i in 0..<count { global[globalStart + i] = local[localStart + i] }
        }
    }

    /// The contiguous runs the local tensor makes in the global one: for a split on
    /// `axis`, one run of `length × inner` values per index of the outer axes.
    public func forEachRun(_ body: (_ globalStart: Int, _ localStart: Int, _ count: Int) throws -> Void) rethrows {
        guard let axis else {
            try body(0, 0, globalShape.reduce(1, *))
            return
        }
        let outer = globalShape[..<axis].reduce(1, *), inner = globalShape[(axis + 1)...].reduce(1, *)
        let run = length * inner
        for o in 0..<outer {
            try body((o * globalShape[axis] + start) * inner, o * run, run)
        }
    }
}

/// The even split of `count` items over `parts` ranks when it does not divide: the first
/// `count % parts` ranks hold one more (10 over 3 → 4, 3, 3).
public struct UnevenSplit: Equatable, Sendable {
    public let count: Int
    public let parts: Int

    public init(count: Int, parts: Int) {
        precondition(parts >= 1 && count >= 0, "split of \(count) over \(parts)")
        self.count = count
        self.parts = parts
    }

    public func length(of part: Int) -> Int { count / parts + (part < count % parts ? 1 : 0) }
    public func start(of part: Int) -> Int { part * (count / parts) + min(part, count % parts) }
    public func range(of part: Int) -> Range<Int> { start(of: part)..<(start(of: part) + length(of: part)) }
    public var lengths: [Int] { (0..<parts).map(length(of:)) }
}

extension ShardPlacement {
    /// The values this placement and `other` (of the same global shape) both hold, as
    /// contiguous runs: each run starts at `selfStart` in this placement's local tensor and
    /// at `otherStart` in `other`'s (row-major). Axes both hold whole on the right are
    /// merged into one run, so rows of a row split come as a single run.
    ///
    /// ```
    /// global [4, 6]; self rows 1..<3, other columns 2..<5 → runs (2, 3, 3), (8, 6, 3)
    /// ```
    /// Calls `body` with each run of the local elements `local` (a range of the local
    /// tensor's flat values) that lies contiguously in the global tensor, and the global
    /// flat index of its first element.
    public func forEachGlobalRun(within local: Range<Int>, _ body: (_ local: Range<Int>, _ globalStart: Int) throws -> Void) rethrows {
        try forEachRun { globalStart, localStart, count in
            let overlap = local.clamped(to: localStart..<(localStart + count))
            guard !overlap.isEmpty else { return }
            try body(overlap, globalStart + overlap.lowerBound - localStart)
        }
    }

    public func forEachOverlap(with other: ShardPlacement,
                               _ body: (_ selfStart: Int, _ otherStart: Int, _ count: Int) throws -> Void) rethrows {
        let shape = globalShape, rank = shape.count
        guard rank > 0 else { return try body(0, 0, 1) }
        var low = [Int](repeating: 0, count: rank), high = shape
        for placement in [self, other] {
            guard let axis = placement.axis else { continue }
            low[axis] = max(low[axis], placement.start)
            high[axis] = min(high[axis], placement.start + placement.length)
        }
        guard zip(low, high).allSatisfy({ $0 < $1 }) else { return }
        let mine = localShape, theirs = other.localShape
        // The leftmost axis of the run: every axis right of it is whole in both locals.
        var first = rank - 1
        while first > 0 && high[first] - low[first] == mine[first] && high[first] - low[first] == theirs[first] { first -= 1 }
        let run = (first..<rank).reduce(1) { $0 * (high[$1] - low[$1]) }
        let myStrides = Self.strides(mine), theirStrides = Self.strides(theirs)
        var index = low
        while true {
            var mineAt = 0, theirsAt = 0
            for axis in 0...first {
                mineAt += (index[axis] - (self.axis == axis ? start : 0)) * myStrides[axis]
                theirsAt += (index[axis] - (other.axis == axis ? other.start : 0)) * theirStrides[axis]
            }
            try body(mineAt, theirsAt, run)
            // Next index over the axes left of the run (an odometer).
            var axis = first - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < high[axis] { break }
                index[axis] = low[axis]
                axis -= 1
            }
            if axis < 0 { return }
        }
    }

    private static func strides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        for axis in stride(from: shape.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
        return strides
    }
}
