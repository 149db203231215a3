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
    /// oneDNN's bf16 matmul for products large enough to gain (see `BF16MatrixProducts`).
    case bf16(BF16MatrixProducts)

    public var precision: MatrixPrecision {
        switch self {
        case .float32: return .float32
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
        case .bf16(let kernel):
            kernel.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                        a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
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
