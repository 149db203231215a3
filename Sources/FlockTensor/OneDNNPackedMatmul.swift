import CDNNL

/// A Float32 oneDNN matmul `C(m×n) += A(m×k) · B(k×n)` whose B, the weights, is reordered
/// once into the primitive's own blocked layout and then read by many products: a
/// recurrent layer's W_hh, multiplied by B rows at each of T − 1 steps forward and
/// backward. sgemm packs B again at every call (a quarter of the LSTM step); the packed
/// brgemm product ran 1.3–1.4× sgemm's speed at those shapes here.
///
/// C is dense row-major; A is stored (m, k), or (k, m) with `transposeA`; B is stored
/// (k, n), or (n, k) with `transposeB`. A product whose B changes every time (a weight
/// gradient's) packs it before its one call.
final class OneDNNPackedMatmul {
    struct Shape: Hashable {
        var m: Int, n: Int, k: Int
        var transposeA = false, transposeB: Bool
    }

    private let matmul: OneDNNPrimitive
    private let reorder: OneDNNPrimitive
    private let packed: UnsafeMutableRawPointer

    /// nil when oneDNN has no implementation for the shape here (the caller uses gemm).
    init?(_ shape: Shape, engine: dnnl_engine_t) {
        var a = OneDNNPrimitive.matrix(rows: shape.m, columns: shape.k, strides: shape.transposeA ? (1, shape.m) : (shape.k, 1),
                                       type: dnnl_f32)
        let plain = OneDNNPrimitive.matrix(rows: shape.k, columns: shape.n,
                                           strides: shape.transposeB ? (1, shape.k) : (shape.n, 1), type: dnnl_f32)
        var any = dnnl_memory_desc_t()
        var dimensions: [Int64] = [Int64(shape.k), Int64(shape.n)]
        OneDNN.check(dnnl_memory_desc_init_by_tag(&any, 2, &dimensions, dnnl_f32, dnnl_format_tag_any), "memory_desc_init_by_tag(any)")
        var c = OneDNNPrimitive.matrix(rows: shape.m, columns: shape.n, strides: (shape.n, 1), type: dnnl_f32)
        var operation = dnnl_matmul_desc_t()
        guard dnnl_matmul_desc_init(&operation, &a, &any, nil, &c) == dnnl_success,
              let descriptor = OneDNNMatmulPrimitive.primitiveDescriptor(
                &operation, shape: .init(inputs: .float32, transposeA: shape.transposeA, transposeB: shape.transposeB,
                                         m: shape.m, n: shape.n, k: shape.k, lda: shape.transposeA ? shape.m : shape.k,
                                         ldb: shape.transposeB ? shape.k : shape.n, ldc: shape.n, alpha: 1, beta: 1), engine: engine)
        else { return nil }
        defer { dnnl_primitive_desc_destroy(descriptor) }
        let blocked = dnnl_primitive_desc_query_md(descriptor, dnnl_query_weights_md, 0)!.pointee
        guard let reorder = OneDNNReorder.make(from: plain, to: blocked, engine: engine) else { return nil }
        self.reorder = reorder
        var blockedCopy = blocked
        packed = .allocate(byteCount: max(dnnl_memory_desc_get_size(&blockedCopy), 64), alignment: 64)
        matmul = OneDNNPrimitive(descriptor, arguments: [(flock_dnnl_arg_src(), a), (flock_dnnl_arg_weights(), blocked),
                                                         (flock_dnnl_arg_dst(), c)], engine: engine, name: "matmul(packed)")
        matmul.setData(1, packed)
        reorder.setData(1, packed)
    }

    deinit { packed.deallocate() }

    /// Reorders `weights` (stored as `Shape` says) into the packed copy the products read.
    func pack(_ weights: UnsafePointer<Float>, stream: dnnl_stream_t) {
        reorder.setData(0, weights)
        reorder.execute(stream: stream)
        OneDNN.check(dnnl_stream_wait(stream), "stream_wait")
    }

    /// C += A · B with the B last packed.
    func multiply(_ a: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>, stream: dnnl_stream_t) {
        matmul.setData(0, a)
        matmul.setData(2, c)
        matmul.execute(stream: stream)
        OneDNN.check(dnnl_stream_wait(stream), "stream_wait")
    }
}
