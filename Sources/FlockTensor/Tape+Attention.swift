import CBLAS
import Foundation

/// Which keys each query may attend to.
public struct AttentionMask: Sendable {
    /// Query i sees keys j ≤ i only (autoregressive models).
    public var causal: Bool
    /// (B, T): 1 where a key is padding, hidden from every query; nil: no padding.
    public var keyPadding: Tensor?

    public init(causal: Bool = false, keyPadding: Tensor? = nil) {
        self.causal = causal
        self.keyPadding = keyPadding
    }

    /// Whether query `i` of sample `b` may see key `j`.
    @inlinable
    func allows(sample b: Int, query i: Int, key j: Int, steps: Int, padding: UnsafeBufferPointer<Float>?) -> Bool {
        if causal && j > i { return false }
        if let padding, padding[b * steps + j] != 0 { return false }
        return true
    }
}

extension Tape {
    /// Multi-head scaled dot-product attention (Vaswani et al. 2017), per head h:
    /// `O_h = softmax(Q_h K_hᵀ / √d + mask) V_h`, fused: one matrix product per (sample, head) and
    /// product, heads read in place as column blocks (no copies into per-head tensors).
    ///
    /// Shapes: query (B, T, H·d), key and value (B, Tk, H·d) (Tk = T for self-attention;
    /// an encoder's steps, or a decoder's cached ones, for cross-attention), head h in
    /// columns h·d..<(h+1)·d; output (B, T, H·d); `mask.keyPadding` (B, Tk). Causal
    /// compares positions from the start (query i sees keys j ≤ i, as PyTorch's `is_causal`).
    /// A query row that sees no key gives zeros.
    ///
    /// Backward (P the probabilities, kept from forward): dV_h = Pᵀ·dO_h,
    /// dP = dO_h·V_hᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ_h = dS·K_h/√d, dK_h = dSᵀ·Q_h/√d.
    public func attention(query: Variable, key: Variable, value: Variable, heads: Int,
                          mask: AttentionMask = AttentionMask()) -> Variable {
        let shape = query.shape
        precondition(shape.count == 3 && key.shape.count == 3 && value.shape == key.shape
                        && key.shape[0] == shape[0] && key.shape[2] == shape[2],
                     "attention needs query (B, T, D), key and value (B, Tk, D), got \(shape), \(key.shape), \(value.shape)")
        let (batch, steps, width, keySteps) = (shape[0], shape[1], shape[2], key.shape[1])
        precondition(heads > 0 && width % heads == 0, "\(heads) heads do not divide width \(width)")
        if let padding = mask.keyPadding {
            precondition(padding.shape == [batch, keySteps], "key padding mask \(padding.shape) for keys \(key.shape)")
        }
        let geometry = AttentionGeometry(batch: batch, steps: steps, width: width, heads: heads, keySteps: keySteps,
                                         products: parameters.matrixProducts)
        let (q, k, v) = (query.value, key.value, value.value)
        var probabilities = Tensor(zeros: [batch, heads, steps, keySteps])
        let y = makeTensor(shape: shape, uninitializedFill: { out in
            probabilities.scalars.withUnsafeMutableBufferPointer { p in
                geometry.forward(q: q, k: k, v: v, mask: mask, probabilities: p, output: out)
            }
        })
        let p = probabilities
        return record(y, inputs: [query, key, value]) { tape, g in
            let gradients = geometry.backward(q: q, k: k, v: v, probabilities: p, outputGradient: g)
            tape.accumulate(gradients.query, into: query)
            tape.accumulate(gradients.key, into: key)
            tape.accumulate(gradients.value, into: value)
        }
    }
}

/// The sizes of one attention call and its per-(sample, head) kernels.
struct AttentionGeometry {
    let batch: Int, steps: Int, width: Int, heads: Int
    /// Tk: the steps of key and value (`steps` in self-attention).
    let keySteps: Int
    /// The five products of each (sample, head): bf16 inputs under mixed precision; the
    /// softmax and its gradient stay Float32.
    let products: MatrixProducts
    init(batch: Int, steps: Int, width: Int, heads: Int, keySteps: Int? = nil, products: MatrixProducts = .float32) {
        (self.batch, self.steps, self.width, self.heads) = (batch, steps, width, heads)
        self.keySteps = keySteps ?? steps
        self.products = products
    }
    var headWidth: Int { width / heads }
    var scale: Float { 1 / Float(headWidth).squareRoot() }
    /// Offset of head h of sample b in a (B, T, H·d) tensor.
    func offset(_ b: Int, _ h: Int) -> Int { b * steps * width + h * headWidth }
    /// Offset of head h of sample b in a (B, Tk, H·d) key or value.
    func keyOffset(_ b: Int, _ h: Int) -> Int { b * keySteps * width + h * headWidth }
    /// Offset of the (T, Tk) block of (b, h) in (B, H, T, Tk).
    func block(_ b: Int, _ h: Int) -> Int { (b * heads + h) * steps * keySteps }

    /// Fills `probabilities` (B, H, T, Tk) and `output` (B, T, H·d).
    func forward(q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask,
                 probabilities p: UnsafeMutableBufferPointer<Float>, output: UnsafeMutableBufferPointer<Float>) {
        let (t, d, tk) = (steps, headWidth, keySteps)
        // Without a mask every key counts: the softmax runs without a test per element.
        let unmasked = !mask.causal && mask.keyPadding == nil
        q.scalars.withUnsafeBufferPointer { pq in
            k.scalars.withUnsafeBufferPointer { pk in
                v.scalars.withUnsafeBufferPointer { pv in
                    withPadding(mask) { padding in
                        for b in 0..<batch {
                            for h in 0..<heads {
                                let scores = p.baseAddress! + block(b, h), at = offset(b, h), kat = keyOffset(b, h)
                                // S(T, Tk) = Q_h · K_hᵀ / √d
                                products.gemm(transposeA: false, transposeB: true, m: t, n: tk, k: d, alpha: scale,
                                              a: pq.baseAddress! + at, lda: width, b: pk.baseAddress! + kat, ldb: width,
                                              beta: 0, c: scores, ldc: tk)
                                for i in 0..<t where unmasked { Self.softmax(scores + i * tk, count: tk) }
                                for i in 0..<t where !unmasked {
                                    Self.maskedSoftmax(scores + i * tk, count: tk) {
                                        mask.allows(sample: b, query: i, key: $0, steps: tk, padding: padding)
                                    }
                                }
                                // O_h(T, d) = P · V_h
                                products.gemm(transposeA: false, transposeB: false, m: t, n: d, k: tk,
                                              a: scores, lda: tk, b: pv.baseAddress! + kat, ldb: width,
                                              beta: 0, c: output.baseAddress! + at, ldc: width)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Gradients of query, key and value given the output's.
    func backward(q: Tensor, k: Tensor, v: Tensor, probabilities: Tensor,
                  outputGradient g: Tensor) -> (query: Tensor, key: Tensor, value: Tensor) {
        let (t, d, tk) = (steps, headWidth, keySteps)
        var dq = Tensor(zeros: q.shape), dk = Tensor(zeros: k.shape), dv = Tensor(zeros: k.shape)
        var ds = [Float](repeating: 0, count: t * tk)
        q.scalars.withUnsafeBufferPointer { pq in
        k.scalars.withUnsafeBufferPointer { pk in
        v.scalars.withUnsafeBufferPointer { pv in
        g.scalars.withUnsafeBufferPointer { pg in
        probabilities.scalars.withUnsafeBufferPointer { pp in
        dq.scalars.withUnsafeMutableBufferPointer { dqp in
        dk.scalars.withUnsafeMutableBufferPointer { dkp in
        dv.scalars.withUnsafeMutableBufferPointer { dvp in
        ds.withUnsafeMutableBufferPointer { dsp in
            for b in 0..<batch {
                for h in 0..<heads {
                    let probs = pp.baseAddress! + block(b, h), scores = dsp.baseAddress!
                    let at = offset(b, h), kat = keyOffset(b, h)
                    // dV_h(Tk, d) = Pᵀ · dO_h
                    products.gemm(transposeA: true, transposeB: false, m: tk, n: d, k: t,
                                  a: probs, lda: tk, b: pg.baseAddress! + at, ldb: width,
                                  beta: 0, c: dvp.baseAddress! + kat, ldc: width)
                    // dP(T, Tk) = dO_h · V_hᵀ, then dS = P ⊙ (dP − rowsum(dP ⊙ P)) in place
                    products.gemm(transposeA: false, transposeB: true, m: t, n: tk, k: d,
                                  a: pg.baseAddress! + at, lda: width, b: pv.baseAddress! + kat, ldb: width,
                                  beta: 0, c: scores, ldc: tk)
                    for i in 0..<t {
                        let row = scores + i * tk, prow = probs + i * tk
                        var dot: Float = 0
                        for j in 0..<tk { dot += row[j] * prow[j] }
                        for j in 0..<tk { row[j] = prow[j] * (row[j] - dot) }
                    }
                    // dQ_h = dS · K_h / √d,  dK_h = dSᵀ · Q_h / √d
                    products.gemm(transposeA: false, transposeB: false, m: t, n: d, k: tk, alpha: scale,
                                  a: scores, lda: tk, b: pk.baseAddress! + kat, ldb: width,
                                  beta: 0, c: dqp.baseAddress! + at, ldc: width)
                    products.gemm(transposeA: true, transposeB: false, m: tk, n: d, k: t, alpha: scale,
                                  a: scores, lda: tk, b: pq.baseAddress! + at, ldb: width,
                                  beta: 0, c: dkp.baseAddress! + kat, ldc: width)
                }
            }
        }}}}}}}}}
        return (dq, dk, dv)
    }

    /// Softmax of `count` scores in place, every key admitted: what `maskedSoftmax` gives
    /// when `allowed` admits all, operation for operation.
    @inline(__always)
    static func softmax(_ row: UnsafeMutablePointer<Float>, count: Int) {
        var largest = -Float.infinity
        for j in 0..<count { largest = Swift.max(largest, row[j]) }
        var total: Float = 0
        for j in 0..<count {
            let e = Foundation.exp(row[j] - largest)
            row[j] = e
            total += e
        }
        let inverse = 1 / total
        for j in 0..<count { row[j] *= inverse }
    }

    /// Softmax of `count` scores in place over the keys `allowed` admits; the others
    /// (and every key of a row that admits none) get probability 0.
    @inline(__always)
    static func maskedSoftmax(_ row: UnsafeMutablePointer<Float>, count: Int, allowed: (Int) -> Bool) {
        var largest = -Float.infinity
        for j in 0..<count where allowed(j) { largest = Swift.max(largest, row[j]) }
        guard largest > -Float.infinity else {
            row.update(repeating: 0, count: count)
            return
        }
        var total: Float = 0
        for j in 0..<count {
            let e = allowed(j) ? Foundation.exp(row[j] - largest) : 0
            row[j] = e
            total += e
        }
        let inverse = 1 / total
        for j in 0..<count { row[j] *= inverse }
    }

    private func withPadding(_ mask: AttentionMask, _ body: (UnsafeBufferPointer<Float>?) -> Void) {
        guard let padding = mask.keyPadding else { return body(nil) }
        padding.scalars.withUnsafeBufferPointer { body($0) }
    }
}
