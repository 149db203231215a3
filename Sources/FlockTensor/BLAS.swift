import CBLAS

/// Thin, checked wrappers over OpenBLAS. Dimensions are Swift `Int`s and are checked
/// before they are narrowed to the `Int32` BLAS takes.
public enum BLAS {
    /// `C(m×n) = alpha · op(A)(m×k) · op(B)(k×n) + beta · C`, row-major.
    /// `lda`, `ldb`, `ldc` are the row strides of A, B, C as stored.
    @inlinable
    public static func gemm(
        transposeA: Bool, transposeB: Bool,
        m: Int, n: Int, k: Int,
        alpha: Float = 1,
        a: UnsafePointer<Float>, lda: Int,
        b: UnsafePointer<Float>, ldb: Int,
        beta: Float,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor,
                    transposeA ? CblasTrans : CblasNoTrans,
                    transposeB ? CblasTrans : CblasNoTrans,
                    narrow(m), narrow(n), narrow(k),
                    alpha, a, narrow(lda), b, narrow(ldb),
                    beta, c, narrow(ldc))
    }

    /// Sets the number of threads OpenBLAS uses for one call, process-wide.
    public static func setThreadCount(_ count: Int) {
        openblas_set_num_threads(narrow(count))
    }

    public static var threadCount: Int {
        Int(openblas_get_num_threads())
    }

    @usableFromInline
    static func narrow(_ value: Int) -> Int32 {
        precondition(value >= 0 && value <= Int(Int32.max), "BLAS dimension \(value) does not fit in Int32")
        return Int32(value)
    }
}

extension Tensor {
    /// Matrix product of two 2-D tensors with optional transposes: `op(a) · op(b)`.
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
        precondition(a.rank == 2 && b.rank == 2, "matmul needs 2-D tensors, got \(a.shape) and \(b.shape)")
        let m = transposeA ? a.shape[1] : a.shape[0]
        let k = transposeA ? a.shape[0] : a.shape[1]
        let kB = transposeB ? b.shape[1] : b.shape[0]
        let n = transposeB ? b.shape[0] : b.shape[1]
        precondition(k == kB, "matmul inner dimensions differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        return Tensor(shape: [m, n]) { out in
            if k == 0 { out.update(repeating: 0); return }
            a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                              a: pa.baseAddress!, lda: a.shape[1],
                              b: pb.baseAddress!, ldb: b.shape[1],
                              beta: 0, c: out.baseAddress!, ldc: n)
                }
            }
        }
    }
}
