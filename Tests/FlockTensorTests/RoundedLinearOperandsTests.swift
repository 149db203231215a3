import Testing
@testable import FlockTensor

/// A dense layer under bf16 rounds x and W once in forward and the output gradient once in
/// backward, and reuses them: its output and gradients must still be those of rounding
/// each operand of each product afresh — through a ReLU mask, a weight used by two nodes
/// of one tape, a deferred weight part, and a weight changed between steps.
@Suite struct RoundedLinearOperandsTests {
    /// op(A)·op(B) of the bf16-rounded operands, multiplied in Float32 (row-major).
    private func roundedProduct(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        BLAS.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1,
                  a: a.map(BF16.rounded), lda: transposeA ? m : k, b: b.map(BF16.rounded), ldb: transposeB ? k : n,
                  beta: 0, c: &c, ldc: n)
        return c
    }

    private func expectClose(_ value: [Float], _ reference: [Float], _ what: String) {
        let scale = reference.map(abs).max()!
        let worst = zip(value, reference).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-5 * scale, "\(what): largest difference \(worst) of \(scale)")
    }

    @Test(.enabled(if: OneDNN.hasNativeBF16, "needs AVX512-BF16 or AMX"), arguments: [false, true])
    func reusedRoundingsEqualRoundingEachProductAfresh(deferredWeights: Bool) throws {
        let (rows, inputs, outputs) = (24, 40, 32)
        let store = ParameterStore()
        let weight = store.register(name: "w", shape: [outputs, inputs], isDecayed: true)
        store.matrixProducts = .bf16(try BF16MatrixProducts())
        for step in 0..<2 {
            // A new weight each step: nothing rounded in an earlier step may be reused.
            let w = randomTensor([outputs, inputs], seed: 40 + UInt64(step)).scalars
            store.setValue(Tensor(shape: [outputs, inputs], scalars: w), of: weight)
            store.zeroGradients()
            let tape = Tape(parameters: store)
            let xs = (0..<2).map { randomTensor([rows, inputs], seed: 50 + UInt64(10 * step + $0)).scalars }
            let leaves = xs.map { tape.leaf(Tensor(shape: [rows, inputs], scalars: $0)) }
            // Two uses of W on one tape: the first through a ReLU, each with its own gradient.
            let ys = [tape.linear(leaves[0], weight: weight, bias: nil, relu: true), tape.linear(leaves[1], weight: weight, bias: nil)]
            let seeds = (0..<2).map { randomTensor([rows, outputs], seed: 60 + UInt64(10 * step + $0)).scalars }
            let loss = tape.add(tape.sum(tape.multiply(ys[0], tape.constant(Tensor(shape: [rows, outputs], scalars: seeds[0])))),
                                tape.sum(tape.multiply(ys[1], tape.constant(Tensor(shape: [rows, outputs], scalars: seeds[1])))))
            tape.backward(from: loss, weightGradients: deferredWeights ? .deferred : .immediate)
            if deferredWeights { tape.backwardWeights() }

            var expectedWeightGradient = [Float](repeating: 0, count: outputs * inputs)
            for use in 0..<2 {
                let product = roundedProduct(xs[use], w, m: rows, n: outputs, k: inputs, transposeA: false, transposeB: true)
                let y = use == 0 ? product.map { max($0, 0) } : product
                expectClose(ys[use].value.scalars, y, "step \(step) output \(use)")
                let g = use == 0 ? zip(seeds[0], y).map { $1 > 0 ? $0 : 0 } : seeds[1]
                expectClose(leaves[use].gradient!.scalars, roundedProduct(g, w, m: rows, n: inputs, k: outputs, transposeA: false, transposeB: false),
                            "step \(step) input gradient \(use)")
                let dw = roundedProduct(g, xs[use], m: outputs, n: inputs, k: rows, transposeA: true, transposeB: false)
                for i in dw.indices { expectedWeightGradient[i] += dw[i] }
            }
            expectClose(store.gradient(of: weight).scalars, expectedWeightGradient, "step \(step) weight gradient")
        }
    }
}
