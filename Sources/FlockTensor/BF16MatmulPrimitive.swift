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

    private let primitive: dnnl_primitive_t
    private let memories: [dnnl_memory_t]  // src, weights, dst, scratchpad
    private let scratchpad: UnsafeMutableRawPointer

    /// nil when oneDNN has no implementation for the shape here (the caller uses sgemm).
    init?(_ shape: Shape, engine: dnnl_engine_t) {
        var a = dnnl_memory_desc_t(), b = dnnl_memory_desc_t(), c = dnnl_memory_desc_t()
        let (m, n, k) = (Int64(shape.m), Int64(shape.n), Int64(shape.k))
        // A logical (m, k): stored (m, k) rows, or (k, m) rows when transposed.
        Self.describe(&a, rows: m, columns: k, strides: shape.transposeA ? (1, m) : (k, 1), type: dnnl_bf16)
        Self.describe(&b, rows: k, columns: n, strides: shape.transposeB ? (1, k) : (n, 1), type: dnnl_bf16)
        Self.describe(&c, rows: m, columns: n, strides: (Int64(shape.ldc), 1), type: dnnl_f32)
        var operation = dnnl_matmul_desc_t()
        guard dnnl_matmul_desc_init(&operation, &a, &b, nil, &c) == dnnl_success else { return nil }
        guard let descriptor = Self.primitiveDescriptor(&operation, shape: shape, engine: engine) else { return nil }
        defer { dnnl_primitive_desc_destroy(descriptor) }
        var made: dnnl_primitive_t?
        OneDNN.check(dnnl_primitive_create(&made, descriptor), "primitive_create(matmul)")
        primitive = made!
        let scratchpadDescriptor = dnnl_primitive_desc_query_md(descriptor, dnnl_query_scratchpad_md, 0)!
        let scratchpadBytes = dnnl_memory_desc_get_size(scratchpadDescriptor)
        scratchpad = .allocate(byteCount: max(scratchpadBytes, 64), alignment: 64)
        var objects: [dnnl_memory_t] = []
        for descriptor in [a, b, c] {
            var memory: dnnl_memory_t?
            var copy = descriptor
            OneDNN.check(dnnl_memory_create(&memory, &copy, engine, nil), "memory_create")
            objects.append(memory!)
        }
        var memory: dnnl_memory_t?
        OneDNN.check(dnnl_memory_create(&memory, scratchpadDescriptor, engine, scratchpad), "memory_create(scratchpad)")
        objects.append(memory!)
        memories = objects
    }

    deinit {
        for memory in memories { dnnl_memory_destroy(memory) }
        dnnl_primitive_destroy(primitive)
        scratchpad.deallocate()
    }

    /// Runs the product on `stream`; `a` and `b` are the bf16 operands in stored order.
    func execute(a: UnsafePointer<UInt16>, b: UnsafePointer<UInt16>, c: UnsafeMutablePointer<Float>, stream: dnnl_stream_t) {
        OneDNN.check(dnnl_memory_set_data_handle(memories[0], UnsafeMutableRawPointer(mutating: a)), "memory_set_data_handle")
        OneDNN.check(dnnl_memory_set_data_handle(memories[1], UnsafeMutableRawPointer(mutating: b)), "memory_set_data_handle")
        OneDNN.check(dnnl_memory_set_data_handle(memories[2], c), "memory_set_data_handle")
        var arguments = [
            dnnl_exec_arg_t(arg: flock_dnnl_arg_src(), memory: memories[0]),
            dnnl_exec_arg_t(arg: flock_dnnl_arg_weights(), memory: memories[1]),
            dnnl_exec_arg_t(arg: flock_dnnl_arg_dst(), memory: memories[2]),
            dnnl_exec_arg_t(arg: flock_dnnl_arg_scratchpad(), memory: memories[3]),
        ]
        OneDNN.check(dnnl_primitive_execute(primitive, stream, Int32(arguments.count), &arguments), "primitive_execute(matmul)")
        OneDNN.check(dnnl_stream_wait(stream), "stream_wait")
    }

    private static func describe(_ descriptor: inout dnnl_memory_desc_t, rows: Int64, columns: Int64,
                                 strides: (Int64, Int64), type: dnnl_data_type_t) {
        var dimensions: [Int64] = [rows, columns], steps: [Int64] = [strides.0, strides.1]
        OneDNN.check(dnnl_memory_desc_init_by_strides(&descriptor, 2, &dimensions, type, &steps), "memory_desc_init_by_strides")
    }

    /// The descriptor with alpha as an output scale, beta as a sum post-op, and a
    /// scratchpad the primitive owns (the library's would be shared by the ranks' threads).
    private static func primitiveDescriptor(_ operation: inout dnnl_matmul_desc_t, shape: Shape,
                                            engine: dnnl_engine_t) -> dnnl_primitive_desc_t? {
        var attributes: dnnl_primitive_attr_t?
        OneDNN.check(dnnl_primitive_attr_create(&attributes), "primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attributes) }
        OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        if shape.alpha != 1 {
            var scale = shape.alpha
            OneDNN.check(dnnl_primitive_attr_set_output_scales(attributes, 1, 0, &scale), "set_output_scales")
        }
        if shape.beta != 0 {
            var postOps: dnnl_post_ops_t?
            OneDNN.check(dnnl_post_ops_create(&postOps), "post_ops_create")
            defer { dnnl_post_ops_destroy(postOps) }
            OneDNN.check(dnnl_post_ops_append_sum(postOps, shape.beta), "post_ops_append_sum")
            OneDNN.check(dnnl_primitive_attr_set_post_ops(attributes, postOps), "set_post_ops")
        }
        var descriptor: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&descriptor, &operation, attributes, engine, nil) == dnnl_success else { return nil }
        return descriptor
    }
}
