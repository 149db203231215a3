/// A start-up check of a bf16 matrix-product kernel: products of seeded random matrices of
/// awkward shapes (odd, prime, transposed, scaled, accumulated into C) against a product
/// in Double of the same inputs rounded to bf16. A kernel that computes a wrong product —
/// or that does not round its inputs as bf16 — is rejected.
///
/// The error of an element is relative to `Σ_k |a_ik|·|b_kj|` plus `|beta·c_ij|`, the scale
/// of what was summed. Products of bf16 values are exact in Float32, so what remains is
/// Float32 accumulation: well below `tolerance` for a right kernel.
public struct BF16SelfCheck: Sendable {
    /// (m, n, k, transposeA, transposeB, alpha, beta): every kind of call the tape makes.
    public static let shapes: [(Int, Int, Int, Bool, Bool, Float, Float)] = [
        (7, 17, 5, false, false, 1, 0), (33, 17, 65, false, true, 1, 0), (64, 31, 129, true, false, 1, 1),
        (128, 512, 784, false, true, 1, 1), (129, 40, 513, true, true, 0.125, 0), (31, 64, 16, false, false, 0.5, 1),
    ]

    public var tolerance = 1e-4
    public var seed: UInt64 = 20_250_131

    public init() {}

    public struct Result: Codable, Sendable, Equatable {
        public var maxRelativeError: Double
        public var passed: Bool

        enum CodingKeys: String, CodingKey {
            case passed
            case maxRelativeError = "max_relative_error"
        }
    }

    public func run(_ kernel: any MatrixProductKernel) -> Result {
        var generator = RandomGenerator(seed: seed)
        var worst = 0.0
        for (m, n, k, transposeA, transposeB, alpha, beta) in Self.shapes {
            let a = (0..<(m * k)).map { _ in generator.nextUniform(-1, 1) }
            let b = (0..<(k * n)).map { _ in generator.nextUniform(-1, 1) }
            let start = (0..<(m * n)).map { _ in beta == 0 ? Float.nan : generator.nextUniform(-1, 1) }
            var c = start
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    c.withUnsafeMutableBufferPointer { c in
                        kernel.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                                    a: a.baseAddress!, lda: transposeA ? m : k, b: b.baseAddress!, ldb: transposeB ? k : n,
                                    beta: beta, c: c.baseAddress!, ldc: n)
                    }
                }
            }
            let product = Product(a: a.map(BF16.rounded), b: b.map(BF16.rounded), m: m, n: n, k: k,
                                  transposeA: transposeA, transposeB: transposeB)
            worst = max(worst, product.maxRelativeError(c, alpha: Double(alpha), beta: Double(beta), start: start))
        }
        return Result(maxRelativeError: worst, passed: worst <= tolerance)
    }

    /// The reference: A is (m, k) or stored (k, m) when transposed; B is (k, n) or (n, k).
    struct Product {
        let a: [Float], b: [Float]
        let m: Int, n: Int, k: Int
        let transposeA: Bool, transposeB: Bool

        func maxRelativeError(_ c: [Float], alpha: Double, beta: Double, start: [Float]) -> Double {
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var sum = 0.0, scale = 0.0
                    for p in 0..<k {
                        let term = Double(transposeA ? a[p * m + i] : a[i * k + p]) * Double(transposeB ? b[j * k + p] : b[p * n + j])
                        sum += term
                        scale += abs(term)
                    }
                    let prior = beta == 0 ? 0 : beta * Double(start[i * n + j])
                    let expected = alpha * sum + prior
                    let error = abs(Double(c[i * n + j]) - expected) / max(abs(alpha) * scale + abs(prior), 1e-30)
                    // NaN (an element never written, or a NaN C read with beta 0) counts as the worst.
                    worst = error.isNaN ? .infinity : max(worst, error)
                }
            }
            return worst
        }
    }
}
