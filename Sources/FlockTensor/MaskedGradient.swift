/// The output gradient of an op with a fused ReLU (`linear`, `convolution2D`) after its
/// mask (g ⊙ [y > 0]), computed by the input part of backward and reused by the weight
/// part, now or deferred.
final class MaskedGradient {
    let relu: Bool
    let output: Tensor
    private var cached: Tensor?

    init(relu: Bool, output: Tensor) {
        self.relu = relu
        self.output = output
    }

    func forget() { cached = nil }

    func gradient(from g: Tensor, tape: Tape) -> Tensor {
        guard relu else { return g }
        if let cached { return cached }
        let masked = tape.makeTensor(shape: g.shape, uninitializedFill: { out in
            output.scalars.withUnsafeBufferPointer { py in
                g.scalars.withUnsafeBufferPointer { pg in VectorKernels.maskByPositive(pg, output: py, into: out) }
            }
        })
        cached = masked
        return masked
    }
}
