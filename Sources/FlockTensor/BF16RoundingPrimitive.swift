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
        let source = OneDNNPrimitive.matrix(rows: shape.rows, columns: shape.columns,
                                            strides: (shape.stride, 1), type: dnnl_f32)
        let target = OneDNNPrimitive.matrix(rows: shape.rows, columns: shape.columns, strides: (shape.columns, 1), type: dnnl_bf16)
        guard let reorder = OneDNNReorder.make(from: source, to: target, engine: engine) else { return nil }
        primitive = reorder
    }

    /// Rounds `source` into `target` (room for rows × columns) on `stream`.
    func execute(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<UInt16>, stream: dnnl_stream_t) {
        primitive.setData(0, source)
        primitive.setData(1, target)
        primitive.execute(stream: stream)
    }
}
