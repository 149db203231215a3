import Testing
@testable import FlockBench

/// The Transformer bench's ceiling runs the FLOPs of the step it is compared with.
@Suite struct TransformerBenchmarkTests {
    @Test func theCeilingCountsEveryProductOfTheStep() {
        let (b, t, d, f, h, classes) = (32.0, 64.0, 128.0, 512.0, 4.0, 10.0)
        let rows = b * t
        // Per block: Q, K, V, O (D→D) and the MLP (D→F→D), each forward + two backward
        // products of 2·rows·in·out; attention: six (T×T×d) products per sample and head.
        let dense = 3 * 2 * rows * (4 * d * d + 2 * d * f)
        let attention = b * h * 6 * 2 * t * t * (d / h)
        let head = 3 * 2 * b * d * classes
        #expect(TransformerBenchmark().flopsPerStep == 2 * (dense + attention) + head)
        // Per block 18 dense products and 6 batches of 128 (sample, head) products, as the step calls them.
        let products = TransformerBenchmark.stepProducts(batchSize: 32)
        #expect(products.count == 2 * (18 + 6) + 3)
        #expect(products.filter { $0.batch == 128 }.count == 2 * 6 && products.allSatisfy { $0.batch == 1 || $0.batch == 128 })
    }
}
