import Testing
@testable import FlockTensor

/// A recurrent layer's W_hh products (and its weight gradient): packed on oneDNN where the
/// rank's Float32 products run the shape there, each product against the definition of
/// C += op(A)·op(W); plain sgemm products (`matrix_kernels: openblas`) are not packed.
@Suite struct RepeatedProductsTests {
    @Test(arguments: [false, true], [false, true])
    func packedProductsAddAToTheirWeights(transposeA: Bool, transposeB: Bool) throws {
        let (m, n, k) = (5, 24, 17)
        var generator = RandomGenerator(seed: 3)
        let a = Tensor.uniform(shape: transposeA ? [k, m] : [m, k], low: -1, high: 1, using: &generator)
        let w = Tensor.uniform(shape: transposeB ? [n, k] : [k, n], low: -1, high: 1, using: &generator)
        let start = Tensor.uniform(shape: [m, n], low: -1, high: 1, using: &generator)
        let products = MatrixProducts.float32PerShape(try Float32MatrixProducts(rule: .onednn))
        var c = start.scalars
        var wasPacked = false
        w.scalars.withUnsafeBufferPointer { pw in
            let product = products.repeatedProduct(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, weights: pw.baseAddress!)
            wasPacked = product.packed != nil
            #expect(MatrixProducts.float32.repeatedProduct(m: m, n: n, k: k, transposeB: transposeB, weights: pw.baseAddress!).packed == nil)
            a.scalars.withUnsafeBufferPointer { pa in
                c.withUnsafeMutableBufferPointer { pc in
                    // Twice: each product adds.
                    product.multiply(pa.baseAddress!, into: pc.baseAddress!)
                    product.multiply(pa.baseAddress!, into: pc.baseAddress!)
                }
            }
        }
        #expect(wasPacked)
        var worst: Float = 0
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k { sum += (transposeA ? a.scalars[p * m + i] : a.scalars[i * k + p]) * (transposeB ? w.scalars[j * k + p] : w.scalars[p * n + j]) }
                worst = max(worst, abs(c[i * n + j] - (start.scalars[i * n + j] + 2 * sum)))
            }
        }
        #expect(worst < 1e-5, "largest difference \(worst)")
    }
}
