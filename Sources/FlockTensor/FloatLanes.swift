import CVectorMath

/// Eight Floats at a time from and to plain buffers, for the kernels that do reductions
/// and scales by hand (the compiler keeps float reductions scalar, in order).
public typealias FloatLanes = SIMD8<Float>

extension FloatLanes {
    /// Calls `lanes(j)` for j = 0, 8, 16, … while 8 values remain, then `tail(j)` for each
    /// value left.
    @inlinable @inline(__always)
    public static func forEach(_ count: Int, _ lanes: (Int) -> Void, tail: (Int) -> Void) {
        var j = 0
        while j + scalarCount <= count {
            lanes(j)
            j += scalarCount
        }
        while j < count {
            tail(j)
            j += 1
        }
    }
}

extension FloatLanes {
    /// The square root of each lane, as one vector instruction (`vsqrtps`): the standard
    /// library's `squareRoot()` takes the lanes one by one through a checked `sqrtf` call.
    @inlinable @inline(__always)
    public func laneSquareRoots() -> FloatLanes { flock_square_root8(self) }
}

extension FloatLanes {
    // The standard library's `clamped(lowerBound:upperBound:)`, `pointwiseMax` and `max()`
    // on SIMD8<Float> compiled to calls (one per eight values, the lanes passed through
    // memory); compares and blends inline.

    /// Each lane limited to [lower, upper]; NaN lanes stay NaN.
    @inlinable @inline(__always)
    public func limited(to lower: Float, _ upper: Float) -> FloatLanes {
        let (low, high) = (FloatLanes(repeating: lower), FloatLanes(repeating: upper))
        return replacing(with: low, where: self .< low).replacing(with: high, where: self .> high)
    }

    /// The larger of each pair of lanes.
    @inlinable @inline(__always)
    public func laneMaximum(_ other: FloatLanes) -> FloatLanes { replacing(with: other, where: other .> self) }

    /// The largest lane.
    @inlinable @inline(__always)
    public func largestLane() -> Float {
        let half = lowHalf.replacing(with: highHalf, where: highHalf .> lowHalf)
        let quarter = half.lowHalf.replacing(with: half.highHalf, where: half.highHalf .> half.lowHalf)
        return Swift.max(quarter[0], quarter[1])
    }
}

extension UnsafePointer<Float> {
    /// The 8 values from index j.
    @inlinable @inline(__always)
    public func lanes(at j: Int) -> FloatLanes { UnsafeRawPointer(self + j).loadUnaligned(as: FloatLanes.self) }
}

extension UnsafeMutablePointer<Float> {
    /// The 8 values from index j.
    @inlinable @inline(__always)
    public func lanes(at j: Int) -> FloatLanes { UnsafePointer(self).lanes(at: j) }

    /// Writes 8 values from index j.
    @inlinable @inline(__always)
    public func setLanes(_ v: FloatLanes, at j: Int) { UnsafeMutableRawPointer(self + j).storeBytes(of: v, as: FloatLanes.self) }
}
