import CDNNL

/// One oneDNN reorder for one operand shape: `rows` rows of `columns` Float32 values,
/// rows `stride` apart, rounded to bf16 (nearest, ties to even) into a dense buffer.
///
/// Why oneDNN and not a Swift loop: Flock is compiled for baseline x86-64, so a Swift
/// loop runs on SSE2 at best, while oneDNN's JIT reorder converts with `vcvtneps2bf16` on
/// AVX512-BF16 (and emulates it exactly elsewhere). Profiling the MLP step showed the
/// Swift rounding at 75% of the bf16 step's time.
///
/// The result equals `BF16.bits(of:)` for every finite normal value; the bf16
/// instructions treat Float32 subnormals as zero and may keep a NaN's payload, which the
/// bf16 dot products (`vdpbf16ps`, subnormals as zero too) cannot tell apart.
final class BF16RoundingPrimitive {
    struct Shape: Hashable {
        var rows: Int, columns: Int, stride: Int
    }

    private let primitive: OneDNNPrimitive

    /// nil when oneDNN has no reorder for it (the caller then rounds in Swift).
    init?(_ shape: Shape, engine: dnnl_engine_t) {
        var source = OneDNNPrimitive.matrix(rows: shape.rows, columns: shape.columns,
                                            strides: (shape.stride, 1), type: dnnl_f32)
        var target = OneDNNPrimitive.matrix(rows: shape.rows, columns: shape.columns, strides: (shape.columns, 1), type: dnnl_bf16)
        var attributes: dnnl_primitive_attr_t?
        OneDNN.check(dnnl_primitive_attr_create(&attributes), "primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attributes) }
        // Its own scratchpad, as the matmul's: the library's would be shared by the ranks' threads.
        OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        var descriptor: dnnl_primitive_desc_t?
        guard dnnl_reorder_primitive_desc_create(&descriptor, &source, engine, &target, engine, attributes) == dnnl_success,
              let descriptor else { return nil }
        defer { dnnl_primitive_desc_destroy(descriptor) }
        primitive = OneDNNPrimitive(descriptor, arguments: [(flock_dnnl_arg_from(), source), (flock_dnnl_arg_to(), target)],
                                    engine: engine, name: "reorder")
    }

    /// Rounds `source` into `target` (room for rows × columns) on `stream`.
    func execute(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<UInt16>, stream: dnnl_stream_t) {
        primitive.setData(0, source)
        primitive.setData(1, target)
        primitive.execute(stream: stream)
    }
}
