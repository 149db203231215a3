import Foundation
import Testing
@testable import FlockTensor

/// A kernel that is right about bf16 (rounds both inputs, multiplies in Float32) —
/// optionally wrong in one element, or not rounding at all: what the self-check must tell apart.
private final class ReferenceKernel: MatrixProductKernel {
    enum Fault { case none, oneElement, noRounding }
    let fault: Fault
    init(_ fault: Fault) { self.fault = fault }

    func gemm(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        let rounds = fault != .noRounding
        let left = (0..<((transposeA ? k : m) * lda)).map { rounds ? BF16.rounded(a[$0]) : a[$0] }
        let right = (0..<((transposeB ? n : k) * ldb)).map { rounds ? BF16.rounded(b[$0]) : b[$0] }
        BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                  a: left, lda: lda, b: right, ldb: ldb, beta: beta, c: c, ldc: ldc)
        if fault == .oneElement { c[(m / 2) * ldc + n / 2] += 0.01 }
    }
}

@Suite struct BF16ProductTests {
    @Test func selfCheckAcceptsARightKernelAndRejectsWrongOnes() {
        let check = BF16SelfCheck()
        #expect(check.run(ReferenceKernel(.none)).passed)
        let wrong = check.run(ReferenceKernel(.oneElement))
        #expect(!wrong.passed && wrong.maxRelativeError > 1e-3)
        // Float32 products are too exact: the kernel does not multiply bf16 inputs.
        #expect(!check.run(ReferenceKernel(.noRounding)).passed)
    }

    @Test(.enabled(if: OneDNN.hasNativeBF16, "needs AVX512-BF16 or AMX"))
    func selfCheckPassesOnOneDNN() throws {
        let result = BF16SelfCheck().run(try BF16MatrixProducts())
        #expect(result.passed, "max relative error \(result.maxRelativeError)")
    }

    /// Against the exact (Float64) product of the unrounded inputs: within what rounding
    /// each input to 8 significant bits allows (2⁻⁸ of Σ|a||b|), and not Float32-exact.
    @Test(.enabled(if: OneDNN.hasNativeBF16, "needs AVX512-BF16 or AMX"),
          arguments: [(128, 512, 784, false, true), (64, 33, 257, true, false), (40, 96, 128, true, true)])
    func productIsWithinBF16ToleranceOfFloat64(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool) throws {
        let a = randomTensor([m * k], seed: 11).scalars, b = randomTensor([k * n], seed: 12).scalars
        var c = [Float](repeating: 0, count: m * n)
        let (lda, ldb) = (transposeA ? m : k, transposeB ? k : n)
        try BF16MatrixProducts().gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                                      a: a, lda: lda, b: b, ldb: ldb, beta: 0, c: &c, ldc: n)
        let exact = BF16SelfCheck.Product(a: a, b: b, m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
        let worst = exact.maxRelativeError(c, alpha: 1, beta: 0, start: [])
        #expect(worst < 1.0 / 256)
        #expect(worst > 1e-5, "as exact as Float32: the product did not round its inputs to bf16")
    }

    @Test func roundingIsToNearestEvenInEveryLane() {
        // 1 + 2⁻⁸ is halfway between two bf16 values: ties go to the even mantissa (1.0);
        // 1 + 3·2⁻⁸ goes up to 1 + 2⁻⁶ (even); NaN stays NaN.
        let values: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, -2.5, .infinity, .nan, 0x1p-130] + (0..<37).map { Float($0) * 0.37 - 5 }
        var bits = [UInt16](repeating: 0, count: values.count)
        BF16.convert(values, to: &bits, count: values.count)
        #expect(bits[0] == 0x3F80 && bits[1] == 0x3F82)
        #expect(Float(bitPattern: UInt32(bits[4]) << 16).isNaN)
        #expect(bits == values.map(BF16.bits(of:)))
    }

    /// Dense under bf16: output and both gradients near Float32's (bf16 inputs, Float32
    /// sums), while the default store multiplies exactly as sgemm does.
    @Test(.enabled(if: OneDNN.hasNativeBF16, "needs AVX512-BF16 or AMX"))
    func linearUnderBF16IsNearFloat32() throws {
        func run(_ products: MatrixProducts) -> (y: [Float], dx: [Float], dw: [Float]) {
            let store = ParameterStore()
            let weight = store.register(name: "w", shape: [64, 96], isDecayed: true)
            store.setValue(randomTensor([64, 96], seed: 5), of: weight)
            store.matrixProducts = products
            let tape = Tape(parameters: store)
            let x = tape.leaf(randomTensor([48, 96], seed: 6))
            let y = tape.linear(x, weight: weight, bias: nil)
            tape.backward(from: tape.sum(tape.multiply(y, tape.constant(randomTensor([48, 64], seed: 7)))))
            return (y.value.scalars, x.gradient!.scalars, store.gradient(of: weight).scalars)
        }
        let exact = run(.float32), mixed = run(.bf16(try BF16MatrixProducts()))
        for (reference, value) in [(exact.y, mixed.y), (exact.dx, mixed.dx), (exact.dw, mixed.dw)] {
            let scale = reference.map(abs).max()!
            let error = zip(reference, value).map { abs($0 - $1) }.max()!
            #expect(error < 0.02 * scale && error > 0)
        }
    }

    /// Attention's five products under bf16 (T and head width ≥ 16, so every one of them
    /// runs on oneDNN): output and input gradients near Float32's.
    @Test(.enabled(if: OneDNN.hasNativeBF16, "needs AVX512-BF16 or AMX"))
    func attentionUnderBF16IsNearFloat32() throws {
        func run(_ products: MatrixProducts) -> [[Float]] {
            let store = ParameterStore()
            store.matrixProducts = products
            let tape = Tape(parameters: store)
            let inputs = (0..<3).map { tape.leaf(randomTensor([2, 24, 32], seed: 20 + UInt64($0))) }
            let y = tape.attention(query: inputs[0], key: inputs[1], value: inputs[2], heads: 2,
                                   mask: AttentionMask(causal: true))
            tape.backward(from: tape.sum(tape.multiply(y, tape.constant(randomTensor([2, 24, 32], seed: 30)))))
            return [y.value.scalars] + inputs.map { $0.gradient!.scalars }
        }
        let exact = run(.float32), mixed = run(.bf16(try BF16MatrixProducts()))
        for (reference, value) in zip(exact, mixed) {
            let scale = reference.map(abs).max()!
            let error = zip(reference, value).map { abs($0 - $1) }.max()!
            #expect(error < 0.03 * scale && error > 0)
        }
    }

    /// Attention's layout in bf16: every (sample, head) product in one oneDNN call equals
    /// rounding the inputs and multiplying pair by pair in Float32 (to Float32 summation order).
    @Test(.enabled(if: OneDNN.hasNativeBF16, "needs AVX512-BF16 or AMX"))
    func aBatchAtHeadStridesEqualsRoundedProductsPerPair() throws {
        let (batch, heads, t, d) = (3, 2, 16, 16), width = heads * d
        let q = (0..<(batch * t * width)).map { Float(sin(Double($0) * 0.7)) }
        let k = (0..<(batch * t * width)).map { Float(cos(Double($0) * 0.3)) }
        let head = MatrixProductBatch.Strides(row: width, outer: t * width, inner: d)
        let scores = MatrixProductBatch.Strides(row: t, outer: heads * t * t, inner: t * t)
        let layout = MatrixProductBatch(transposeA: false, transposeB: true, m: t, n: t, k: d, outer: batch, inner: heads, alpha: 0.5,
                                        a: head, b: head, c: scores)
        let kernel = try BF16MatrixProducts()
        var batched = [Float](repeating: 0, count: batch * heads * t * t), reference = batched
        q.withUnsafeBufferPointer { pq in
            k.withUnsafeBufferPointer { pk in
                batched.withUnsafeMutableBufferPointer { MatrixProducts.bf16(kernel).batchedGemm(layout, a: pq.baseAddress!, b: pk.baseAddress!, c: $0.baseAddress!) }
                reference.withUnsafeMutableBufferPointer { c in
                    layout.forEachPair(a: pq.baseAddress!, b: pk.baseAddress!, c: c.baseAddress!) { a, b, c in
                        ReferenceKernel(.none).gemm(transposeA: false, transposeB: true, m: t, n: t, k: d, alpha: 0.5,
                                                    a: a, lda: width, b: b, ldb: width, beta: 0, c: c, ldc: t)
                    }
                }
            }
        }
        #expect(kernel.batchedPrimitivesMade == 1)
        let worst = zip(batched, reference).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "largest difference \(worst)")
    }
}
