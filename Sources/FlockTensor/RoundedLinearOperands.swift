/// The dense op's operands under bf16 products, each rounded once per use of the layer:
/// x and W in forward, kept for the backward products (dx = g·W, dW += gᵀ·x), and the
/// output gradient g once for both — as autocast saves its bf16 casts for backward. Every
/// product is the one `BF16MatrixProducts.gemm` makes from the Float32 values (the same
/// rounding, the same primitive), so results do not change; the rounding passes do: 3 a
/// step for a hidden layer instead of 6 (two operands rounded per product).
///
/// Kept from forward to the weight part of backward: bf16 copies of x (rows, in) and W
/// (out, in), then of g (rows, out) — half their Float32 sizes.
final class RoundedLinearOperands {
    private let kernel: BF16MatrixProducts
    private let rows: Int, inputs: Int, outputs: Int
    private var input: BF16Operand?, weight: BF16Operand?, outputGradient: BF16Operand?

    /// nil unless the products are bf16, the tape records backward, and both sides reach
    /// `BF16MatrixProducts.minimumColumns` (a thinner product runs in Float32 anyway).
    init?(products: MatrixProducts, recordsBackward: Bool, rows: Int, inputs: Int, outputs: Int) {
        guard case .bf16(let kernel) = products, recordsBackward, rows > 0,
              min(inputs, outputs) >= BF16MatrixProducts.minimumColumns else { return nil }
        (self.kernel, self.rows, self.inputs, self.outputs) = (kernel, rows, inputs, outputs)
    }

    /// y (rows, out) = x · Wᵀ + bias, ReLU if `relu`, with x and W rounded and kept; false
    /// (nothing written or kept) where oneDNN does not run the shape.
    func forward(x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, bias: UnsafePointer<Float>?, relu: Bool,
                 into y: UnsafeMutablePointer<Float>) -> Bool {
        let x = kernel.rounded(x, rows: rows, columns: inputs), w = kernel.rounded(w, rows: outputs, columns: inputs)
        guard kernel.fusedLinear(rows: rows, outputs: outputs, inputs: inputs, x: x, weight: w, bias: bias, relu: relu, into: y) else {
            return false
        }
        (input, weight) = (x, w)
        return true
    }

    /// dx (rows, in) = g (rows, out) · W (out, in); false (nothing written) without the
    /// forward's rounded W.
    func inputGradient(_ g: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) -> Bool {
        guard let weight else { return false }
        return kernel.gemm(transposeA: false, transposeB: false, m: rows, n: inputs, k: outputs, a: rounded(g), b: weight,
                           beta: 0, c: dx, ldc: inputs)
    }

    /// dW (out, in) += gᵀ (out, rows) · x (rows, in); false (nothing written) without the
    /// forward's rounded x.
    func weightGradient(_ g: UnsafePointer<Float>, into dw: UnsafeMutablePointer<Float>) -> Bool {
        guard let input else { return false }
        return kernel.gemm(transposeA: true, transposeB: false, m: outputs, n: inputs, k: rows, a: rounded(g), b: input,
                           beta: 1, c: dw, ldc: inputs)
    }

    /// Drops the copies (after the weight part, the last use of this node's backward).
    func forget() { (input, weight, outputGradient) = (nil, nil, nil) }

    /// g rounded at its first use by this backward, reused by the second.
    private func rounded(_ g: UnsafePointer<Float>) -> BF16Operand {
        if let outputGradient { return outputGradient }
        let made = kernel.rounded(g, rows: rows, columns: outputs)
        outputGradient = made
        return made
    }
}
