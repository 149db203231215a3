/// Float arrays a tape has finished with, kept by element count so that the next step's
/// ops of the same shapes write into them instead of allocating: a training step makes
/// the same tensors every time.
///
/// Reuse is safe whether or not something else still holds an array: writing into a
/// shared array copies it first (copy-on-write), so at worst a reuse costs the
/// allocation it was meant to save.
struct TensorStoragePool {
    /// Arrays kept per element count; more are dropped.
    static let limitPerCount = 8
    private var arrays: [Int: [[Float]]] = [:]

    mutating func recycle(_ tensor: Tensor) {
        let count = tensor.scalars.count
        guard count >= 1024, arrays[count, default: []].count < Self.limitPerCount else { return }
        arrays[count, default: []].append(tensor.scalars)
    }

    /// A tensor of `shape` whose every element `fill` writes, in a recycled array when one
    /// of the right size is free.
    mutating func makeTensor(shape: [Int], fill: (UnsafeMutableBufferPointer<Float>) -> Void) -> Tensor {
        let count = Tensor.elementCount(of: shape)
        guard var scalars = arrays[count]?.popLast() else { return Tensor(shape: shape, uninitializedFill: fill) }
        scalars.withUnsafeMutableBufferPointer { fill($0) }
        return Tensor(shape: shape, scalars: scalars)
    }
}
