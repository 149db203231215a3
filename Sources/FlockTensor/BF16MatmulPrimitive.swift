import CDNNL

/// One oneDNN matmul primitive for one shape: `C(m×n) f32 = alpha · A(m×k) bf16 · B(k×n)
/// bf16 + beta · C`, with A and B dense in their stored order (a transposed operand is
/// described by its strides) and C at row stride `ldc`. It owns its memory objects (their
/// data pointers are set per call) and its scratchpad: no state shared between ranks.
final class BF16MatmulPrimitive {
    struct Shape: Hashable {
        var transposeA: Bool, transposeB: Bool
        var m: Int, n: Int, k: Int, ldc: Int
        var alpha: Float, beta: Float
    }

    private let primitive: OneDNNPrimitive

    /// nil when oneDNN has no implementation for the shape here (the caller uses sgemm).
    init?(_ shape: Shape, engine: dnnl_engine_t) {
        // A logical (m, k): stored (m, k) rows, or (k, m) rows when transposed.
        var a = OneDNNPrimitive.matrix(rows: shape.m, columns: shape.k, strides: shape.transposeA ? (1, shape.m) : (shape.k, 1), type: dnnl_bf16)
        var b = OneDNNPrimitive.matrix(rows: shape.k, columns: shape.n, strides: shape.transposeB ? (1, shape.k) : (shape.n, 1), type: dnnl_bf16)
        var c = OneDNNPrimitive.matrix(rows: shape.m, columns: shape.n, strides: (shape.ldc, 1), type: dnnl_f32)
        var operation = dnnl_matmul_desc_t()
        guard dnnl_matmul_desc_init(&operation, &a, &b, nil, &c) == dnnl_success else { return nil }
        guard let descriptor = Self.primitiveDescriptor(&operation, shape: shape, engine: engine) else { return nil }
        defer { dnnl_primitive_desc_destroy(descriptor) }
        primitive = OneDNNPrimitive(descriptor, arguments: [(flock_dnnl_arg_src(), a), (flock_dnnl_arg_weights(), b), (flock_dnnl_arg_dst(), c)],
                                    engine: engine, name: "matmul")
    }

    /// Runs the product on `stream`; `a` and `b` are the bf16 operands in stored order.
    func execute(a: UnsafePointer<UInt16>, b: UnsafePointer<UInt16>, c: UnsafeMutablePointer<Float>, stream: dnnl_stream_t) {
        primitive.setData(0, a)
        primitive.setData(1, b)
        primitive.setData(2, c)
        primitive.execute(stream: stream)
        OneDNN.check(dnnl_stream_wait(stream), "stream_wait")
    }

    /// The descriptor with alpha as an output scale, beta as a sum post-op, and a
    /// scratchpad the primitive owns (the library's would be shared by the ranks' threads).
    static func primitiveDescriptor(_ operation: inout dnnl_matmul_desc_t, shape: Shape,
                                            engine: dnnl_engine_t) -> dnnl_primitive_desc_t? {
        var attributes: dnnl_primitive_attr_t?
        OneDNN.check(dnnl_primitive_attr_create(&attributes), "primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attributes) }
        OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        if shape.alpha != 1 {
            var scale = shape.alpha
            OneDNN.check(dnnl_primitive_attr_set_output_scales(attributes, 1, 0, &scale), "set_output_scales")
        }
        if shape.beta != 0 { OneDNN.appendSum(shape.beta, to: attributes) }
        var descriptor: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&descriptor, &operation, attributes, engine, nil) == dnnl_success else { return nil }
        return descriptor
    }
}
