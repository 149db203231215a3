import Foundation

/// Reductions, outside autodiff. Sums accumulate in `Double` so long reductions keep
/// their precision.
extension Tensor {
    public func sum() -> Float {
        scalars.withUnsafeBufferPointer { source in
            var total = 0.0
            for value in source { total += Double(value) }
            return Float(total)
        }
    }

    public func mean() -> Float {
        count == 0 ? 0 : Float(Double(sum()) / Double(count))
    }

    public func max() -> Float { scalars.max() ?? -.infinity }
    public func min() -> Float { scalars.min() ?? .infinity }

    /// Sum over `axis`, which is removed from the shape.
    public func sum(alongAxis axis: Int) -> Tensor {
        precondition(axis >= 0 && axis < rank, "axis \(axis) of shape \(shape)")
        let outer = shape[..<axis].reduce(1, *)
        let size = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        var newShape = shape
        newShape.remove(at: axis)
        var result = [Float](repeating: 0, count: outer * inner)
        scalars.withUnsafeBufferPointer { source in
            result.withUnsafeMutableBufferPointer { sums in
                guard inner > 0, size > 0 else { return }  // nothing to add (and no base addresses)
                for o in 0..<outer {
                    let target = sums.baseAddress! + o * inner
                    for s in 0..<size {
                        let row = source.baseAddress! + (o * size + s) * inner
                        for i in 0..<inner { target[i] += row[i] }
                    }
                }
            }
        }
        return Tensor(shape: newShape, scalars: result)
    }

    /// Index of the largest element of each row of a 2-D tensor.
    public func argmaxRows() -> [Int] {
        precondition(rank == 2, "argmaxRows of shape \(shape)")
        let columns = shape[1]
        return scalars.withUnsafeBufferPointer { source in
            (0..<shape[0]).map { row in
                var best = 0
                for column in 1..<Swift.max(columns, 1) where source[row * columns + column] > source[row * columns + best] {
                    best = column
                }
                return best
            }
        }
    }

    /// Euclidean norm of all elements.
    public func norm() -> Float {
        scalars.withUnsafeBufferPointer { source in
            var total = 0.0
            for value in source { total += Double(value) * Double(value) }
            return Float(total.squareRoot())
        }
    }

    public var isFinite: Bool { scalars.allSatisfy { $0.isFinite } }
}
