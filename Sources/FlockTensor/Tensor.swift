/// A dense, contiguous, row-major array of `Float` with a shape.
///
/// Storage is a Swift array, so a `Tensor` is a value with copy-on-write: copies are
/// cheap until one of them is mutated.
///
/// ```swift
/// let x = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// x[1, 2]            // 6
/// x.reshaped([3, 2]) // same scalars, shape (3, 2)
/// ```
public struct Tensor: Sendable, Equatable {
    /// Dimension sizes, outermost first. A scalar has shape `[]`.
    public private(set) var shape: [Int]
    /// The elements in row-major order; `scalars.count == shape.reduce(1, *)`.
    public var scalars: [Float]

    public init(shape: [Int], scalars: [Float]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape \(shape) has a negative dimension")
        precondition(scalars.count == Tensor.elementCount(of: shape),
                     "Tensor of shape \(shape) needs \(Tensor.elementCount(of: shape)) scalars, got \(scalars.count)")
        self.shape = shape
        self.scalars = scalars
    }

    public init(zeros shape: [Int]) {
        self.init(repeating: 0, shape: shape)
    }

    public init(repeating value: Float, shape: [Int]) {
        self.init(shape: shape, scalars: Array(repeating: value, count: Tensor.elementCount(of: shape)))
    }

    public init(scalar: Float) {
        self.init(shape: [], scalars: [scalar])
    }

    /// Creates a tensor whose elements `fill` must write, all of them, without reading.
    /// Skips the zeroing pass that `init(zeros:)` pays, for outputs BLAS overwrites.
    public init(shape: [Int], uninitializedFill fill: (UnsafeMutableBufferPointer<Float>) -> Void) {
        let count = Tensor.elementCount(of: shape)
        self.shape = shape
        self.scalars = Array(unsafeUninitializedCapacity: count) { buffer, initialized in
            fill(buffer)
            initialized = count
        }
    }

    public static func elementCount(of shape: [Int]) -> Int {
        shape.reduce(1, *)
    }

    public var count: Int { scalars.count }
    public var rank: Int { shape.count }

    /// The only element of a tensor with one element.
    public var scalar: Float {
        precondition(scalars.count == 1, "scalar of a tensor with shape \(shape)")
        return scalars[0]
    }

    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(Tensor.elementCount(of: newShape) == count,
                     "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        var result = self
        result.shape = newShape
        return result
    }

    public subscript(indices: Int...) -> Float {
        get { scalars[flatIndex(indices)] }
        set { scalars[flatIndex(indices)] = newValue }
    }

    func flatIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == shape.count, "index \(indices) into shape \(shape)")
        var index = 0
        for (position, size) in Swift.zip(indices, shape) {
            precondition(position >= 0 && position < size, "index \(indices) out of bounds for shape \(shape)")
            index = index * size + position
        }
        return index
    }

    /// Rows at `indices` of the outermost dimension, gathered in that order.
    public func gatherRows(_ indices: [Int]) -> Tensor {
        precondition(rank >= 1, "gatherRows of a scalar")
        let rowSize = count / Swift.max(shape[0], 1)
        var newShape = shape
        newShape[0] = indices.count
        return Tensor(shape: newShape) { out in
            scalars.withUnsafeBufferPointer { source in
                for (row, index) in indices.enumerated() {
                    precondition(index >= 0 && index < shape[0], "row \(index) of shape \(shape)")
                    let from = source.baseAddress! + index * rowSize
                    (out.baseAddress! + row * rowSize).update(from: from, count: rowSize)
                }
            }
        }
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let preview = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}
