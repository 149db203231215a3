import CDNNL

/// The products of one weight matrix with many small left operands (a recurrent layer's
/// W_hh at every step), per tape: in Float32 on oneDNN with the weights packed once per
/// sequence (`OneDNNPackedMatmul`), with as many OpenMP threads as OpenBLAS has; under
/// bf16, or where oneDNN has no kernel, through `MatrixProducts.gemm` at each call.
final class RepeatedProducts {
    private let context: OneDNNContext?
    private var matmuls: [OneDNNPackedMatmul.Shape: OneDNNPackedMatmul?] = [:]

    init() {
        context = try? OneDNNContext()
    }

    deinit {
        // The primitives before the engine they were made on.
        matmuls.removeAll()
    }

    /// C(m×n) += op(A)(m×k) · op(W) for each `multiply(_:into:)` of the returned product;
    /// A stored (m, k), or (k, m) with `transposeA`; W stored (k, n), or (n, k) with
    /// `transposeB`. `weights` must stay valid and unchanged while the product is used.
    func product(m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool, weights: UnsafePointer<Float>,
                 products: MatrixProducts) -> RepeatedProduct {
        let shape = OneDNNPackedMatmul.Shape(m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB)
        guard case .float32 = products, let context, m > 0, n > 0, k > 0 else {
            return RepeatedProduct(shape: shape, weights: weights, products: products, packed: nil, stream: nil)
        }
        // oneDNN sizes its blocking by the team it will get, and runs on the calling thread's.
        omp_set_num_threads(Int32(BLAS.threadCount))
        if matmuls[shape] == nil { matmuls[shape] = OneDNNPackedMatmul(shape, engine: context.engine) }
        guard let matmul = matmuls[shape]! else {
            return RepeatedProduct(shape: shape, weights: weights, products: products, packed: nil, stream: nil)
        }
        matmul.pack(weights, stream: context.stream)
        return RepeatedProduct(shape: shape, weights: weights, products: products, packed: matmul, stream: context.stream)
    }
}

/// One weight matrix ready for products (`RepeatedProducts.product`).
struct RepeatedProduct {
    let shape: OneDNNPackedMatmul.Shape
    let weights: UnsafePointer<Float>
    let products: MatrixProducts
    let packed: OneDNNPackedMatmul?
    let stream: dnnl_stream_t?

    /// C (m×n, dense) += op(A) · op(W), A dense.
    func multiply(_ a: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>) {
        if let packed, let stream {
            packed.multiply(a, into: c, stream: stream)
            return
        }
        let (m, n, k) = (shape.m, shape.n, shape.k)
        products.gemm(transposeA: shape.transposeA, transposeB: shape.transposeB, m: m, n: n, k: k, a: a,
                      lda: shape.transposeA ? m : k,
                      b: weights, ldb: shape.transposeB ? k : n, beta: 1, c: c, ldc: n)
    }
}
