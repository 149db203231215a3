import CDNNL

extension MatrixProducts {
    /// The products of one weight matrix with many left operands (a recurrent layer's W_hh
    /// at every step, or one weight-gradient product): C(m×n) += op(A)(m×k) · op(W) for each
    /// `multiply(_:into:)` of the returned product. A is stored (m, k), or (k, m) with
    /// `transposeA`; W (k, n), or (n, k) with `transposeB`; `weights` must stay valid and
    /// unchanged while the product is used. Where this rank's Float32 products run the shape
    /// on oneDNN, W is packed once into the primitive's own layout (sgemm packs it again at
    /// every call: a quarter of an LSTM step); otherwise each call is a `gemm` (OpenBLAS,
    /// or bf16 products).
    func repeatedProduct(m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool,
                         weights: UnsafePointer<Float>) -> RepeatedProduct {
        let shape = OneDNNPackedMatmul.Shape(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
        var packed: (OneDNNPackedMatmul, dnnl_stream_t)?
        if case .float32PerShape(let kernels) = self { packed = kernels.packedProduct(shape, weights: weights) }
        return RepeatedProduct(shape: shape, weights: weights, products: self, packed: packed)
    }
}

/// One weight matrix ready for products (`MatrixProducts.repeatedProduct`).
struct RepeatedProduct {
    let shape: OneDNNPackedMatmul.Shape
    let weights: UnsafePointer<Float>
    let products: MatrixProducts
    /// The packed primitive and the stream it runs on; nil: `gemm` at each call.
    let packed: (OneDNNPackedMatmul, dnnl_stream_t)?

    /// C (m×n, dense) += op(A) · op(W), A dense.
    func multiply(_ a: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>) {
        if let (matmul, stream) = packed {
            matmul.multiply(a, into: c, stream: stream)
            return
        }
        let (m, n, k) = (shape.m, shape.n, shape.k)
        products.gemm(transposeA: shape.transposeA, transposeB: shape.transposeB, m: m, n: n, k: k, a: a,
                      lda: shape.transposeA ? m : k,
                      b: weights, ldb: shape.transposeB ? k : n, beta: 1, c: c, ldc: n)
    }
}
