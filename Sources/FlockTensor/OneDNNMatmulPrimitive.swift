import CDNNL

/// One oneDNN matmul primitive for one shape: for each of `outer × inner` operand pairs,
/// `C(m×n) f32 = alpha · A(m×k) · B(k×n) + beta · C`, inputs Float32 or bf16, every
/// operand at the strides its `Layout` gives (a transposed operand is a column stride of
/// its rows, a batch of attention heads an inner stride of d). It owns its memory objects
/// (their data pointers are set per call) and its scratchpad: no state shared between
/// ranks.
final class OneDNNMatmulPrimitive {
    /// Where the elements of one operand are: element (i, j) of pair (o, h) at
    /// `o·outer + h·inner + i·row + j·column`.
    struct Layout: Hashable {
        var row: Int, column: Int
        var outer = 0, inner = 0
    }

    struct Shape: Hashable {
        var inputs: MatrixPrecision
        var outer = 1, inner = 1
        var m: Int, n: Int, k: Int
        var a: Layout, b: Layout, c: Layout
        var alpha: Float, beta: Float
        /// A bias row added to every output row (the fused dense op), then ReLU if `relu`.
        var bias = false, relu = false

        /// A single product with `BLAS.gemm`'s leading dimensions (a transposed operand is
        /// stored with its logical rows as columns).
        init(inputs: MatrixPrecision, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
             lda: Int, ldb: Int, ldc: Int, alpha: Float, beta: Float) {
            self.init(inputs: inputs, m: m, n: n, k: k,
                      a: transposeA ? Layout(row: 1, column: lda) : Layout(row: lda, column: 1),
                      b: transposeB ? Layout(row: 1, column: ldb) : Layout(row: ldb, column: 1),
                      c: Layout(row: ldc, column: 1), alpha: alpha, beta: beta)
        }

        init(inputs: MatrixPrecision, outer: Int = 1, inner: Int = 1, m: Int, n: Int, k: Int,
             a: Layout, b: Layout, c: Layout, alpha: Float, beta: Float) {
            (self.inputs, self.outer, self.inner, self.m, self.n, self.k) = (inputs, outer, inner, m, n, k)
            (self.a, self.b, self.c, self.alpha, self.beta) = (a, b, c, alpha, beta)
        }
    }

    private let primitive: OneDNNPrimitive

    /// nil when oneDNN has no implementation for the shape here (the caller uses sgemm).
    init?(_ shape: Shape, engine: dnnl_engine_t) {
        let input = shape.inputs == .bf16 ? dnnl_bf16 : dnnl_f32
        var a = Self.descriptor(shape, rows: shape.m, columns: shape.k, layout: shape.a, type: input)
        var b = Self.descriptor(shape, rows: shape.k, columns: shape.n, layout: shape.b, type: input)
        var c = Self.descriptor(shape, rows: shape.m, columns: shape.n, layout: shape.c, type: dnnl_f32)
        var operation = dnnl_matmul_desc_t()
        var biasRow = OneDNNPrimitive.matrix(rows: 1, columns: shape.n, strides: (shape.n, 1), type: dnnl_f32)
        let described = shape.bias ? dnnl_matmul_desc_init(&operation, &a, &b, &biasRow, &c) : dnnl_matmul_desc_init(&operation, &a, &b, nil, &c)
        guard described == dnnl_success else { return nil }
        guard let descriptor = Self.primitiveDescriptor(&operation, shape: shape, engine: engine) else { return nil }
        defer { dnnl_primitive_desc_destroy(descriptor) }
        // oneDNN's reference kernels (plain loops, 50–100× slower than brgemm) are never
        // worth calling: such a shape stays on sgemm.
        guard !Self.implementation(descriptor).hasPrefix("ref") else { return nil }
        let operands = [(flock_dnnl_arg_src(), a), (flock_dnnl_arg_weights(), b), (flock_dnnl_arg_dst(), c)]
        primitive = OneDNNPrimitive(descriptor, arguments: operands + (shape.bias ? [(flock_dnnl_arg_bias(), biasRow)] : []),
                                    engine: engine, name: "matmul")
    }

    /// Runs the product on `stream`; `a` and `b` hold the inputs' type (Float32 or bf16 bits).
    func execute(a: UnsafeRawPointer, b: UnsafeRawPointer, c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>? = nil,
                 stream: dnnl_stream_t) {
        primitive.setData(0, a)
        primitive.setData(1, b)
        primitive.setData(2, c)
        if let bias { primitive.setData(3, bias) }
        primitive.execute(stream: stream)
        OneDNN.check(dnnl_stream_wait(stream), "stream_wait")
    }

    /// A 2-D matrix for one product, 4-D (outer, inner, rows, columns) for a batch.
    private static func descriptor(_ shape: Shape, rows: Int, columns: Int, layout: Layout, type: dnnl_data_type_t) -> dnnl_memory_desc_t {
        guard shape.outer * shape.inner > 1 else {
            return OneDNNPrimitive.matrix(rows: rows, columns: columns, strides: (layout.row, layout.column), type: type)
        }
        var descriptor = dnnl_memory_desc_t()
        var dimensions: [Int64] = [shape.outer, shape.inner, rows, columns].map(Int64.init)
        // A batch dimension of size 1 takes the other's stride, as a dense tensor's would:
        // oneDNN treats other strides there as a layout it has no fast kernel for.
        let outer = shape.outer == 1 ? layout.inner : layout.outer, inner = shape.inner == 1 ? layout.outer : layout.inner
        var steps: [Int64] = [outer, inner, layout.row, layout.column].map(Int64.init)
        OneDNN.check(dnnl_memory_desc_init_by_strides(&descriptor, 4, &dimensions, type, &steps), "memory_desc_init_by_strides")
        return descriptor
    }

    /// oneDNN's name for the kernel it picked ("brg:avx512_core", "gemm:jit", "ref:any").
    static func implementation(_ descriptor: dnnl_primitive_desc_t) -> String {
        var name: UnsafePointer<CChar>?
        guard dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &name) == dnnl_success, let name else { return "" }
        return String(cString: name)
    }

    /// The descriptor with alpha as an output scale, beta as a sum post-op, and a
    /// scratchpad the primitive owns (the library's would be shared by the ranks' threads).
    static func primitiveDescriptor(_ operation: inout dnnl_matmul_desc_t, shape: Shape,
                                            engine: dnnl_engine_t) -> dnnl_primitive_desc_t? {
        precondition(shape.beta == 0 || !shape.relu, "a matmul adds to its output or applies ReLU, not both")
        var attributes: dnnl_primitive_attr_t?
        OneDNN.check(dnnl_primitive_attr_create(&attributes), "primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attributes) }
        OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        if shape.alpha != 1 {
            var scale = shape.alpha
            OneDNN.check(dnnl_primitive_attr_set_output_scales(attributes, 1, 0, &scale), "set_output_scales")
        }
        if shape.beta != 0 { OneDNN.appendSum(shape.beta, to: attributes) }
        if shape.relu { OneDNN.appendReLU(to: attributes) }
        var descriptor: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&descriptor, &operation, attributes, engine, nil) == dnnl_success else { return nil }
        return descriptor
    }
}
