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
