/// The inputs of the matrix products a tape records (Dense/`linear`, attention): Float32,
/// or bf16 with Float32 accumulation and Float32 outputs. Everything else — master
/// weights, gradients and their accumulation, optimizer state, losses, softmax,
/// normalization — stays Float32 in both (the rules of PyTorch's autocast).
public enum MatrixPrecision: String, Codable, Sendable, CaseIterable {
    case float32
    case bf16
}

/// How a rank multiplies matrices on its tapes: what `ParameterStore.matrixProducts`
/// holds, read by every op that multiplies.
///
/// ```swift
/// model.parameters.matrixProducts = .bf16(BF16MatrixProducts(threads: 1))
/// ```
public enum MatrixProducts {
    /// OpenBLAS `sgemm`.
    case float32
    /// Float32 on OpenBLAS or oneDNN, whichever was chosen for each product's shape (see
    /// `Float32MatrixProducts`): what training runs in Float32 where oneDNN is installed.
    case float32PerShape(Float32MatrixProducts)
    /// oneDNN's bf16 matmul for products large enough to gain (see `BF16MatrixProducts`).
    case bf16(BF16MatrixProducts)

    public var precision: MatrixPrecision {
        switch self {
        case .float32, .float32PerShape: return .float32
        case .bf16: return .bf16
        }
    }

    /// `C(m×n) = alpha · op(A)(m×k) · op(B)(k×n) + beta · C`, row-major, as `BLAS.gemm`.
    @inlinable
    public func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        switch self {
        case .float32:
            BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        case .float32PerShape(let kernel):
            kernel.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                        a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        case .bf16(let kernel):
            kernel.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                        a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        }
    }

    /// The dense op's forward, `y(rows×outputs) = x · Wᵀ + bias` then ReLU if `relu`, as one
    /// oneDNN call with the bias and ReLU in its output pass, where this kernel runs the
    /// product on oneDNN; false (nothing written) on sgemm, and the caller adds them itself.
    public func fusedLinear(rows: Int, outputs: Int, inputs: Int, x: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                            bias: UnsafePointer<Float>?, relu: Bool, into y: UnsafeMutablePointer<Float>) -> Bool {
        switch self {
        case .float32: return false
        case .float32PerShape(let kernel):
            return kernel.fusedLinearOnOneDNN(rows: rows, outputs: outputs, inputs: inputs, x: x, weight: weight, bias: bias, relu: relu, into: y)
        case .bf16(let kernel):
            return kernel.fusedLinearOnOneDNN(rows: rows, outputs: outputs, inputs: inputs, x: x, weight: weight, bias: bias, relu: relu, into: y)
        }
    }

    /// Every product of `batch`: one call where the per-shape kernel chose oneDNN for the
    /// batch's shape, one `gemm` per pair otherwise.
    public func batchedGemm(_ batch: MatrixProductBatch, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                            c: UnsafeMutablePointer<Float>) {
        var perPair = self
        switch self {
        case .float32PerShape(let kernel):
            if kernel.batchedGemmOnOneDNN(batch, a: a, b: b, c: c) { return }
            perPair = .float32  // sgemm per pair, without listing the pairs' shape as seen
        case .bf16(let kernel):
            if kernel.batchedGemmOnOneDNN(batch, a: a, b: b, c: c) { return }
        case .float32:
            break
        }
        batch.forEachPair(a: a, b: b, c: c) { a, b, c in
            perPair.gemm(transposeA: batch.transposeA, transposeB: batch.transposeB, m: batch.m, n: batch.n, k: batch.k, alpha: batch.alpha,
                 a: a, lda: batch.a.row, b: b, ldb: batch.b.row, beta: batch.beta, c: c, ldc: batch.c.row)
        }
    }
}

/// A matrix product with `BLAS.gemm`'s arguments: what a self-check examines, so a test
/// can hand it a wrong one.
public protocol MatrixProductKernel: AnyObject {
    func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)
}
