import Foundation
import Testing
@testable import FlockTensor

/// Float32 products on oneDNN against a Float64 reference of the same operands (and so
/// against sgemm's), single and batched at attention's strides, with alpha, beta and
/// leading dimensions wider than the matrices; each test checks that oneDNN ran.
@Suite struct Float32MatrixProductTests {
    /// A(m×k)·B(k×n) in Float64 from stored operands at leading dimensions lda, ldb.
    static func reference(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                          a: [Float], lda: Int, b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Double] {
        var out = [Double](repeating: 0, count: m * ldc)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    let x = transposeA ? a[p * lda + i] : a[i * lda + p], y = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += Double(x) * Double(y)
                }
                out[i * ldc + j] = Double(alpha) * sum + Double(beta) * Double(c[i * ldc + j])
            }
        }
        return out
    }

    static func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { Float(sin(Double($0 * 7 + seed * 13))) }
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func oneProductMatchesFloat64(transposeA: Bool, transposeB: Bool) throws {
        let (m, n, k) = (37, 29, 45), (alpha, beta): (Float, Float) = (0.5, 1)
        // Stored rows wider than the logical matrices, as a column block of a wider tensor.
        let lda = (transposeA ? m : k) + 3, ldb = (transposeB ? k : n) + 5, ldc = n + 2
        let a = Self.values((transposeA ? k : m) * lda, seed: 1), b = Self.values((transposeB ? n : k) * ldb, seed: 2)
        var c = Self.values(m * ldc, seed: 3)
        let expected = Self.reference(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                                      a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
        let kernels = try Float32MatrixProducts(rule: .onednn)
        kernels.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                     a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: &c, ldc: ldc)
        #expect(kernels.primitivesMade == 1)
        let worst = (0..<m).flatMap { i in (0..<n).map { j in abs(Double(c[i * ldc + j]) - expected[i * ldc + j]) } }.max()!
        #expect(worst < 1e-4, "largest difference \(worst)")
        // The columns past n are not written.
        #expect(c[n] == Self.values(m * ldc, seed: 3)[n])
    }

    /// Attention's layout: Q, K (B, T, H·d) with head h in columns h·d..<(h+1)·d, scores
    /// (B, H, T, T): one oneDNN call equals sgemm per (sample, head).
    @Test func aBatchAtHeadStridesMatchesSgemmPerPair() throws {
        let (batch, heads, t, d) = (3, 2, 5, 4), width = heads * d
        let q = Self.values(batch * t * width, seed: 4), k = Self.values(batch * t * width, seed: 5)
        let head = MatrixProductBatch.Strides(row: width, outer: t * width, inner: d)
        let scores = MatrixProductBatch.Strides(row: t, outer: heads * t * t, inner: t * t)
        let layout = MatrixProductBatch(transposeA: false, transposeB: true, m: t, n: t, k: d, outer: batch, inner: heads, alpha: 0.25,
                                        a: head, b: head, c: scores)
        var onednn = [Float](repeating: 0, count: batch * heads * t * t), perPair = onednn
        let kernels = try Float32MatrixProducts(rule: .onednn)
        q.withUnsafeBufferPointer { pq in
            k.withUnsafeBufferPointer { pk in
                onednn.withUnsafeMutableBufferPointer { MatrixProducts.float32PerShape(kernels).batchedGemm(layout, a: pq.baseAddress!, b: pk.baseAddress!, c: $0.baseAddress!) }
                perPair.withUnsafeMutableBufferPointer { MatrixProducts.float32.batchedGemm(layout, a: pq.baseAddress!, b: pk.baseAddress!, c: $0.baseAddress!) }
            }
        }
        #expect(kernels.primitivesMade == 1)
        let worst = zip(onednn, perPair).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5 && perPair.contains { $0 != 0 }, "largest difference \(worst)")
        // Pair (2, 1)'s first score by hand: Q row 0 of sample 2, head 1 against K's.
        let at = 2 * t * width + d
        let byHand = 0.25 * (0..<d).reduce(Float(0)) { $0 + q[at + $1] * k[at + $1] }
        #expect(abs(onednn[(2 * heads + 1) * t * t] - byHand) < 1e-5)
    }

    /// `bySize`: oneDNN where every side is at least 16; a timed choice overrides it.
    @Test func theRuleAndChoicesPickTheLibrary() throws {
        let kernels = try Float32MatrixProducts()
        let wide = MatrixProductShape(transposeA: false, transposeB: true, m: 64, n: 16, k: 32)
        let thin = MatrixProductShape(transposeA: true, transposeB: false, m: 10, n: 512, k: 128)
        #expect(kernels.rule.kernel(for: wide) == .onednn && kernels.rule.kernel(for: thin) == .openblas)
        let a = Self.values(64 * 32, seed: 6), b = Self.values(16 * 32, seed: 7)
        var c = [Float](repeating: 0, count: 64 * 16)
        kernels.choices[wide] = .openblas
        kernels.gemm(transposeA: false, transposeB: true, m: 64, n: 16, k: 32, a: a, lda: 32, b: b, ldb: 32, beta: 0, c: &c, ldc: 16)
        #expect(kernels.primitivesMade == 0)
        kernels.choices[wide] = nil
        kernels.gemm(transposeA: false, transposeB: true, m: 64, n: 16, k: 32, a: a, lda: 32, b: b, ldb: 32, beta: 0, c: &c, ldc: 16)
        #expect(kernels.seenShapes.isEmpty, "shapes are listed only while surveying")
        kernels.recordsShapes = true
        kernels.gemm(transposeA: false, transposeB: true, m: 64, n: 16, k: 32, a: a, lda: 32, b: b, ldb: 32, beta: 0, c: &c, ldc: 16)
        #expect(kernels.primitivesMade == 1 && kernels.seenShapes == [wide])
    }
}
