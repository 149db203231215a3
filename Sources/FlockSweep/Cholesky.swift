import CBLAS
import Foundation

/// The Cholesky factor L of a symmetric positive-definite n × n matrix K = L·Lᵀ, from
/// LAPACK's `dpotrf` in OpenBLAS, with the solves a Gaussian process needs.
struct Cholesky {
    let n: Int
    /// (n, n) column-major; L in the lower triangle, zeros above.
    let lower: [Double]

    /// nil when `matrix` ((n, n), symmetric; only its lower triangle is read) is not
    /// numerically positive definite.
    init?(_ matrix: [Double], n: Int) {
        precondition(matrix.count == n * n && n > 0, "Cholesky needs an (n, n) matrix")
        var factor = matrix
        var size = Int32(n), info: Int32 = 0
        dpotrf_("L", &size, &factor, &size, &info, 1)
        guard info == 0 else { return nil }
        for column in 1..<n {
            for row in 0..<column { factor[row + column * n] = 0 }
        }
        self.n = n
        lower = factor
    }

    /// log det K = 2 Σ log Lᵢᵢ.
    var logDeterminant: Double {
        var total = 0.0
        for i in 0..<n { total += Foundation.log(lower[i + i * n]) }
        return 2 * total
    }

    /// L⁻¹·B for B of shape (n, columns), column-major, in place.
    func solveLower(_ b: inout [Double], columns: Int = 1) {
        precondition(b.count == n * columns, "right-hand side must be (n, columns)")
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit,
                    Int32(n), Int32(columns), 1, lower, Int32(n), &b, Int32(n))
    }

    /// L⁻ᵀ·B for B of shape (n, columns), column-major, in place.
    func solveUpper(_ b: inout [Double], columns: Int = 1) {
        precondition(b.count == n * columns, "right-hand side must be (n, columns)")
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit,
                    Int32(n), Int32(columns), 1, lower, Int32(n), &b, Int32(n))
    }

    /// K⁻¹·b.
    func solve(_ b: [Double]) -> [Double] {
        var x = b
        solveLower(&x)
        solveUpper(&x)
        return x
    }

    /// K⁻¹, (n, n) and symmetric, from LAPACK's `dpotri`.
    func inverse() -> [Double] {
        var inverse = lower
        var size = Int32(n), info: Int32 = 0
        dpotri_("L", &size, &inverse, &size, &info, 1)
        precondition(info == 0, "dpotri failed on a factor dpotrf accepted (info \(info))")
        for column in 1..<n {
            for row in 0..<column { inverse[row + column * n] = inverse[column + row * n] }
        }
        return inverse
    }
}
