/// A numerical self-check of the BLAS kernel this process runs: `sgemm` on seeded random
/// matrices of awkward shapes (odd, prime, transposed, tall and wide) against a naive
/// product accumulated in Double.
///
/// The error of an element is measured relative to `Σ_k |a_ik|·|b_kj|`, the scale of the
/// terms that were summed, so the bound does not depend on cancellation.
public struct BLASSelfCheck: Sendable {
    /// (m, n, k, transposeA, transposeB)
    public static let shapes: [(Int, Int, Int, Bool, Bool)] = [
        (1, 1, 1, false, false), (7, 13, 5, false, false), (33, 17, 65, false, true),
        (64, 31, 129, true, false), (128, 512, 784, false, false), (129, 10, 513, true, true),
    ]

    /// Largest relative error accepted; single-precision sums of a few hundred terms stay
    /// well below it, a wrong kernel (wrong tile, wrong edge handling) far above.
    public var tolerance = 1e-4
    public var seed: UInt64 = 20_240_611

    public init() {}

    public struct Result: Codable, Sendable, Equatable {
        /// The core the check ran on.
        public var core: String
        public var maxRelativeError: Double
        public var passed: Bool

        enum CodingKeys: String, CodingKey {
            case core, passed
            case maxRelativeError = "max_relative_error"
        }
    }

    /// Runs every shape. `corrupt` (a test hook) adds an error to one element of each
    /// product, standing in for a kernel that computes a wrong result.
    public func run(corrupt: Bool = false) -> Result {
        var generator = RandomGenerator(seed: seed)
        var worst = 0.0
        for (m, n, k, transposeA, transposeB) in Self.shapes {
            let a = (0..<(m * k)).map { _ in generator.nextUniform(-1, 1) }
            let b = (0..<(k * n)).map { _ in generator.nextUniform(-1, 1) }
            var c = [Float](repeating: .nan, count: m * n)
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                  a: a.baseAddress!, lda: transposeA ? m : k, b: b.baseAddress!, ldb: transposeB ? k : n,
                                  beta: 0, c: c.baseAddress!, ldc: n)
                    }
                }
            }
            if corrupt { c[(m * n) / 2] += 0.5 }
            worst = max(worst, Self.maxRelativeError(c, a, b, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB))
        }
        return Result(core: BLASKernel.coreName, maxRelativeError: worst, passed: worst <= tolerance)
    }

    /// The naive reference: A is (m, k) or stored (k, m) when transposed; B is (k, n) or (n, k).
    static func maxRelativeError(_ c: [Float], _ a: [Float], _ b: [Float], m: Int, n: Int, k: Int,
                                 transposeA: Bool, transposeB: Bool) -> Double {
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0, scale = 0.0
                for p in 0..<k {
                    let x = Double(transposeA ? a[p * m + i] : a[i * k + p])
                    let y = Double(transposeB ? b[j * k + p] : b[p * n + j])
                    sum += x * y
                    scale += abs(x * y)
                }
                let error = abs(Double(c[i * n + j]) - sum) / max(scale, 1e-30)
                // NaN (an element never written) counts as the worst error.
                worst = error.isNaN ? .infinity : max(worst, error)
            }
        }
        return worst
    }
}
