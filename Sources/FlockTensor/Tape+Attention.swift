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

    /// For each sample, the keys its padding hides (none without a padding mask).
    func hiddenKeys(batch: Int, steps: Int) -> [[Int]] {
        guard let keyPadding else { return Array(repeating: [], count: batch) }
        return (0..<batch).map { b in (0..<steps).filter { keyPadding.scalars[b * steps + $0] != 0 } }
    }
}

extension Tape {
    /// Multi-head scaled dot-product attention (Vaswani et al. 2017), per head h:
    /// `O_h = softmax(Q_h K_hᵀ / √d + mask) V_h`, each product for every (sample, head) at
    /// once (`MatrixProducts.batchedGemm`), heads read in place as column blocks (no copies
    /// into per-head tensors).
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
    /// The six products of each (sample, head), run as one batch each: bf16 inputs under
    /// mixed precision; the softmax and its gradient stay Float32.
    let matrixProducts: MatrixProducts
    init(batch: Int, steps: Int, width: Int, heads: Int, keySteps: Int? = nil, products: MatrixProducts = .float32) {
        (self.batch, self.steps, self.width, self.heads) = (batch, steps, width, heads)
        self.keySteps = keySteps ?? steps
        self.matrixProducts = products
    }
    var headWidth: Int { width / heads }
    var scale: Float { 1 / Float(headWidth).squareRoot() }
    /// Head h of sample b in a (B, T, H·d) tensor: rows `width` apart, samples T·width,
    /// heads d.
    var headMatrices: MatrixProductBatch.Strides { .init(row: width, outer: steps * width, inner: headWidth) }
    /// The same in a (B, Tk, H·d) key or value.
    var keyMatrices: MatrixProductBatch.Strides { .init(row: width, outer: keySteps * width, inner: headWidth) }
    /// The (T, Tk) block of (b, h) in (B, H, T, Tk).
    var scoreMatrices: MatrixProductBatch.Strides { .init(row: keySteps, outer: heads * steps * keySteps, inner: steps * keySteps) }

    /// The products of every (sample, head) at once.
    func products(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                  a: MatrixProductBatch.Strides, b: MatrixProductBatch.Strides, c: MatrixProductBatch.Strides) -> MatrixProductBatch {
        MatrixProductBatch(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, outer: batch, inner: heads,
                           alpha: alpha, a: a, b: b, c: c)
    }

    /// Fills `probabilities` (B, H, T, Tk) and `output` (B, T, H·d).
    func forward(q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask,
                 probabilities p: UnsafeMutableBufferPointer<Float>, output: UnsafeMutableBufferPointer<Float>) {
        let (t, d, tk) = (steps, headWidth, keySteps)
        q.scalars.withUnsafeBufferPointer { pq in
            k.scalars.withUnsafeBufferPointer { pk in
                v.scalars.withUnsafeBufferPointer { pv in
                    // S(T, Tk) = Q_h · K_hᵀ / √d
                    matrixProducts.batchedGemm(products(transposeB: true, m: t, n: tk, k: d, alpha: scale,
                                                        a: headMatrices, b: keyMatrices, c: scoreMatrices),
                                               a: pq.baseAddress!, b: pk.baseAddress!, c: p.baseAddress!)
                    let hidden = mask.hiddenKeys(batch: batch, steps: tk)
                    for b in 0..<batch {
                        for row in (b * heads * t)..<((b + 1) * heads * t) {
                            let i = row % t
                            Self.softmax(p.baseAddress! + row * tk, steps: tk, visible: mask.causal ? min(i + 1, tk) : tk, hidden: hidden[b])
                        }
                    }
                    // O_h(T, d) = P · V_h
                    matrixProducts.batchedGemm(products(m: t, n: d, k: tk, a: scoreMatrices, b: keyMatrices, c: headMatrices),
                                               a: UnsafePointer(p.baseAddress!), b: pv.baseAddress!, c: output.baseAddress!)
                }
            }
        }
    }

    /// Gradients of query, key and value given the output's. Each product overwrites its
    /// whole output (beta 0), so none is zero-filled first.
    func backward(q: Tensor, k: Tensor, v: Tensor, probabilities: Tensor,
                  outputGradient g: Tensor) -> (query: Tensor, key: Tensor, value: Tensor) {
        let (t, d, tk) = (steps, headWidth, keySteps)
        let (perQuery, perKey, perScores) = (headMatrices, keyMatrices, scoreMatrices)
        // dV_h(Tk, d) = Pᵀ · dO_h
        let dv = product(products(transposeA: true, m: tk, n: d, k: t, a: perScores, b: perQuery, c: perKey),
                         probabilities, g, shape: k.shape)
        // dP(T, Tk) = dO_h · V_hᵀ, then dS = P ⊙ (dP − rowsum(dP ⊙ P)) in place
        let ds = product(products(transposeB: true, m: t, n: tk, k: d, a: perQuery, b: perKey, c: perScores),
                         g, v, shape: probabilities.shape) { dsp in
            probabilities.scalars.withUnsafeBufferPointer { pp in
                for row in 0..<(batch * heads * t) {
                    SoftmaxRows.gradient(dsp.baseAddress! + row * tk, probabilities: pp.baseAddress! + row * tk, count: tk)
                }
            }
        }
        // dQ_h = dS · K_h / √d,  dK_h = dSᵀ · Q_h / √d
        let dq = product(products(m: t, n: d, k: tk, alpha: scale, a: perScores, b: perKey, c: perQuery), ds, k, shape: q.shape)
        let dk = product(products(transposeA: true, m: tk, n: d, k: t, alpha: scale, a: perScores, b: perQuery, c: perKey),
                         ds, q, shape: k.shape)
        return (dq, dk, dv)
    }

    /// A new tensor of `shape` holding the batch's products of `a` and `b`, then `then`
    /// run on it in place.
    private func product(_ batch: MatrixProductBatch, _ a: Tensor, _ b: Tensor, shape: [Int],
                         then: (UnsafeMutableBufferPointer<Float>) -> Void = { _ in }) -> Tensor {
        Tensor(shape: shape, uninitializedFill: { c in
            a.scalars.withUnsafeBufferPointer { pa in
                b.scalars.withUnsafeBufferPointer { pb in
                    matrixProducts.batchedGemm(batch, a: pa.baseAddress!, b: pb.baseAddress!, c: c.baseAddress!)
                }
            }
            then(c)
        })
    }

    /// The softmax of one query's row of `steps` scores: keys at or past `visible` (a causal
    /// mask) get 0 without being read, `hidden` keys (padding) enter as −∞.
    @inline(__always)
    static func softmax(_ row: UnsafeMutablePointer<Float>, steps: Int, visible: Int, hidden: [Int]) {
        for j in hidden where j < visible { row[j] = -.infinity }
        SoftmaxRows.normalize(row, count: visible)
        if visible < steps { (row + visible).update(repeating: 0, count: steps - visible) }
    }
}
