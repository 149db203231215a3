import Foundation
import Testing
@testable import FlockTensor

/// The fused attention op against a naive softmax(QKᵀ/√d)V written here, its gradients
/// against finite differences, and what its masks hide; slicing and concatenation.
@Suite struct AttentionOpTests {
    /// Head h of sample b, one query at a time, by the definition; keys may have other steps
    /// than queries (causal: key j ≤ query i, counted from the start).
    static func naiveAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, heads: Int, causal: Bool, padding: Tensor?) -> Tensor {
        let (batch, steps, width, keySteps) = (q.shape[0], q.shape[1], q.shape[2], k.shape[1])
        let d = width / heads
        var out = Tensor(zeros: q.shape)
        for b in 0..<batch {
            for h in 0..<heads {
                for i in 0..<steps {
                    let keys = (0..<keySteps).filter { j in !(causal && j > i) && (padding.map { $0[b, j] == 0 } ?? true) }
                    guard !keys.isEmpty else { continue }
                    var scores = [Double]()
                    for j in keys {
                        var dot = 0.0
                        for c in 0..<d { dot += Double(q[b, i, h * d + c]) * Double(k[b, j, h * d + c]) }
                        scores.append(dot / Double(d).squareRoot())
                    }
                    let largest = scores.max()!
                    let exps = scores.map { Foundation.exp($0 - largest) }
                    let total = exps.reduce(0, +)
                    for c in 0..<d {
                        var value = 0.0
                        for (n, j) in keys.enumerated() { value += exps[n] / total * Double(v[b, j, h * d + c]) }
                        out.scalars[(b * steps + i) * width + h * d + c] = Float(value)
                    }
                }
            }
        }
        return out
    }

    /// Sample 0 pads its last two positions, sample 1 its first.
    static let padding = Tensor(shape: [2, 5], scalars: [0, 0, 0, 1, 1, 1, 0, 0, 0, 0])

    @Test(arguments: [(1, false, false), (2, false, false), (3, true, false), (2, false, true), (3, true, true)])
    func matchesTheNaiveDefinition(heads: Int, causal: Bool, padded: Bool) throws {
        let q = randomTensor([2, 5, 6], seed: 1, low: -2, high: 2), k = randomTensor([2, 5, 6], seed: 2, low: -2, high: 2)
        let v = randomTensor([2, 5, 6], seed: 3)
        let mask = AttentionMask(causal: causal, keyPadding: padded ? Self.padding : nil)
        let expected = Self.naiveAttention(q, k, v, heads: heads, causal: causal, padding: mask.keyPadding)
        // sgemm per (sample, head), then every (sample, head) as one oneDNN batch.
        let onednn = try Float32MatrixProducts(rule: .onednn)
        for products in [MatrixProducts.float32, .float32PerShape(onednn)] {
            let store = ParameterStore()
            store.matrixProducts = products
            let tape = Tape(parameters: store)
            let fused = tape.attention(query: tape.constant(q), key: tape.constant(k), value: tape.constant(v), heads: heads, mask: mask).value
            let worst = zip(fused.scalars, expected.scalars).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-5, "largest difference \(worst)")
        }
        #expect(onednn.primitivesMade == 2)
    }

    @Test(arguments: [(2, false, false), (3, true, false), (2, true, true), (1, false, true)])
    func gradientsMatchFiniteDifferences(heads: Int, causal: Bool, padded: Bool) {
        let inputs = (1...3).map { randomTensor([2, 5, 6], seed: UInt64(10 + $0)) }
        let mask = AttentionMask(causal: causal, keyPadding: padded ? Self.padding : nil)
        let error = gradientCheckError(inputs) { t, x in t.attention(query: x[0], key: x[1], value: x[2], heads: heads, mask: mask) }
        #expect(error < 1e-2, "largest relative error \(error)")
    }

    /// Cross-attention: 3 queries over 7 keys (and 7 over 3), with padding of the keys.
    @Test(arguments: [(3, 7, 2, false, false), (3, 7, 3, true, true), (7, 3, 1, false, true), (1, 6, 2, false, true)])
    func keysOfOtherStepsMatchTheNaiveDefinition(steps: Int, keySteps: Int, heads: Int, causal: Bool, padded: Bool) {
        let q = randomTensor([2, steps, 6], seed: 21, low: -2, high: 2), k = randomTensor([2, keySteps, 6], seed: 22, low: -2, high: 2)
        let v = randomTensor([2, keySteps, 6], seed: 23)
        // Sample 0 pads its last key, sample 1 its first.
        let padding = Tensor(shape: [2, keySteps], scalars: (0..<(2 * keySteps)).map { $0 == keySteps - 1 || $0 == keySteps ? 1 : 0 })
        let mask = AttentionMask(causal: causal, keyPadding: padded ? padding : nil)
        let tape = Tape(parameters: ParameterStore())
        let fused = tape.attention(query: tape.constant(q), key: tape.constant(k), value: tape.constant(v), heads: heads, mask: mask).value
        let expected = Self.naiveAttention(q, k, v, heads: heads, causal: causal, padding: mask.keyPadding)
        #expect(fused.shape == [2, steps, 6])
        let worst = zip(fused.scalars, expected.scalars).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-5, "largest difference \(worst)")
        let inputs = [randomTensor([2, steps, 6], seed: 24), randomTensor([2, keySteps, 6], seed: 25), randomTensor([2, keySteps, 6], seed: 26)]
        let error = gradientCheckError(inputs) { t, x in t.attention(query: x[0], key: x[1], value: x[2], heads: heads, mask: mask) }
        #expect(error < 1e-2, "largest relative error \(error)")
    }

    @Test func theCausalMaskAndPaddingHideWhatTheyHide() {
        let q = randomTensor([2, 5, 4], seed: 4), k = randomTensor([2, 5, 4], seed: 5), v = randomTensor([2, 5, 4], seed: 6)
        func run(_ k: Tensor, _ v: Tensor, _ mask: AttentionMask) -> Tensor {
            let tape = Tape(parameters: ParameterStore())
            return tape.attention(query: tape.constant(q), key: tape.constant(k), value: tape.constant(v), heads: 2, mask: mask).value
        }
        // Change key and value at position 3 of both samples.
        var k2 = k, v2 = v
        for b in 0..<2 { for c in 0..<4 { k2.scalars[(b * 5 + 3) * 4 + c] += 5; v2.scalars[(b * 5 + 3) * 4 + c] -= 7 } }
        let causal = AttentionMask(causal: true)
        let (before, after) = (run(k, v, causal), run(k2, v2, causal))
        // Queries 0...2 of both samples: bitwise equal; query 3 changes.
        for b in 0..<2 {
            for i in 0..<5 {
                let rows = (0..<4).map { (b * 5 + i) * 4 + $0 }
                let same = rows.allSatisfy { before.scalars[$0].bitPattern == after.scalars[$0].bitPattern }
                #expect(same == (i < 3), "sample \(b) query \(i)")
            }
        }
        // Sample 0 pads position 3: none of its outputs change; sample 1 does not, and they change.
        let padded = AttentionMask(keyPadding: Self.padding)
        let (p1, p2) = (run(k, v, padded), run(k2, v2, padded))
        #expect(Array(p1.scalars[0..<20]) == Array(p2.scalars[0..<20]))
        #expect(Array(p1.scalars[20..<40]) != Array(p2.scalars[20..<40]))
    }

    @Test func sliceAndConcatenateGradients() {
        let x = randomTensor([3, 4, 5], seed: 7), y = randomTensor([3, 2, 5], seed: 8)
        #expect(gradientCheckError([x]) { t, v in t.slice(v[0], axis: 1, range: 1..<3) } < 1e-2)
        #expect(gradientCheckError([x]) { t, v in t.slice(v[0], axis: 2, range: 2..<5) } < 1e-2)
        #expect(gradientCheckError([x, y]) { t, v in t.concatenate([v[0], v[1], v[0]], axis: 1) } < 1e-2)
        let tape = Tape(parameters: ParameterStore())
        let joined = tape.concatenate([tape.constant(x), tape.constant(y)], axis: 1).value
        #expect(joined.shape == [3, 6, 5])
        #expect(joined[2, 5, 4] == y[2, 1, 4] && joined[1, 3, 0] == x[1, 3, 0])
        let part = tape.slice(tape.constant(x), axis: 2, range: 1..<3).value
        #expect(part.shape == [3, 4, 2] && part[2, 3, 1] == x[2, 3, 2])
    }

    @Test func embeddingRowsAndTheirGradient() {
        let store = ParameterStore()
        let table = store.register(name: "table", shape: [4, 3], isDecayed: true)
        store.setValue(randomTensor([4, 3], seed: 9), of: table)
        let ids = Tensor(shape: [2, 3], scalars: [0, 3, 3, 1, 0, 2])
        let tape = Tape(parameters: store)
        let y = tape.embedding(ids: ids, table: table)
        let t = store.value(of: table)
        #expect(y.shape == [2, 3, 3])
        #expect(y.value[0, 1, 2] == t[3, 2] && y.value[1, 2, 0] == t[2, 0])
        let g = randomTensor([2, 3, 3], seed: 10)
        tape.backward(from: y, gradient: g)
        let dt = store.gradient(of: table)
        // Row 3 is read twice (positions (0,1), (0,2)): its gradient is their sum.
        #expect(abs(dt[3, 1] - (g[0, 1, 1] + g[0, 2, 1])) < 1e-6)
        #expect(dt[1, 0] == g[1, 0, 0] && dt[2, 2] == g[1, 2, 2])
    }
}
