/// Elementwise maps and NumPy-style broadcasting, outside autodiff.
extension Tensor {
    /// Applies `transform` to every element.
    @inlinable
    public func map(_ transform: (Float) -> Float) -> Tensor {
        Tensor(shape: shape) { out in
            scalars.withUnsafeBufferPointer { source in
                for i in 0..<source.count { out[i] = transform(source[i]) }
            }
        }
    }

    /// Shape of `a ⊕ b` under NumPy broadcasting, or nil when the shapes do not broadcast.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = Swift.max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let da = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let db = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if da == db || db == 1 { result[i] = da } else if da == 1 { result[i] = db } else { return nil }
        }
        return result
    }

    /// `combine(a[i], b[i])` with broadcasting.
    @inlinable
    public static func zip(_ a: Tensor, _ b: Tensor, _ combine: (Float, Float) -> Float) -> Tensor {
        if a.shape == b.shape {
            return Tensor(shape: a.shape) { out in
                a.scalars.withUnsafeBufferPointer { pa in
                    b.scalars.withUnsafeBufferPointer { pb in
                        for i in 0..<out.count { out[i] = combine(pa[i], pb[i]) }
                    }
                }
            }
        }
        guard let shape = broadcastShape(a.shape, b.shape) else {
            preconditionFailure("shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let indexA = a.broadcastIndices(to: shape)
        let indexB = b.broadcastIndices(to: shape)
        return Tensor(shape: shape) { out in
            a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    for i in 0..<out.count { out[i] = combine(pa[indexA[i]], pb[indexB[i]]) }
                }
            }
        }
    }

    /// For each element of a tensor of shape `target`, the element of `self` it reads
    /// under broadcasting.
    public func broadcastIndices(to target: [Int]) -> [Int] {
        let offset = target.count - rank
        precondition(offset >= 0, "cannot broadcast \(shape) to \(target)")
        // Strides of self laid over target's dimensions; 0 where self broadcasts.
        var strides = [Int](repeating: 0, count: target.count)
        var running = 1
        for i in stride(from: rank - 1, through: 0, by: -1) {
            precondition(shape[i] == target[i + offset] || shape[i] == 1, "cannot broadcast \(shape) to \(target)")
            strides[i + offset] = shape[i] == 1 ? 0 : running
            running *= shape[i]
        }
        let total = Tensor.elementCount(of: target)
        var indices = [Int](repeating: 0, count: total)
        var position = [Int](repeating: 0, count: target.count)
        var source = 0
        for flat in 0..<total {
            indices[flat] = source
            var axis = target.count - 1
            while axis >= 0 {
                position[axis] += 1
                source += strides[axis]
                if position[axis] < target[axis] { break }
                source -= strides[axis] * position[axis]
                position[axis] = 0
                axis -= 1
            }
        }
        return indices
    }

    /// Sums a broadcast result back down to `shape` (the adjoint of broadcasting).
    public func summed(toShape target: [Int]) -> Tensor {
        if target == shape { return self }
        let indices = Tensor(zeros: target).broadcastIndices(to: shape)
        var result = [Float](repeating: 0, count: Tensor.elementCount(of: target))
        scalars.withUnsafeBufferPointer { source in
            for i in 0..<source.count { result[indices[i]] += source[i] }
        }
        return Tensor(shape: target, scalars: result)
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor { zip(a, b, +) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { zip(a, b, -) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { zip(a, b, *) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { zip(a, b, /) }
    public static func * (a: Tensor, b: Float) -> Tensor { a.map { $0 * b } }
    public static prefix func - (a: Tensor) -> Tensor { a.map { -$0 } }
}
