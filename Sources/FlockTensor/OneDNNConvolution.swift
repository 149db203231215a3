import CDNNL

/// oneDNN's direct convolution for one shape, batch size and precision: forward,
/// backward data and backward weights primitives, on the layouts oneDNN picks for this
/// CPU, reading and writing Flock's plain Float32 tensors through staged reorders.
///
/// Shapes as `Tape.convolution2D`: x (B, C, H, W), weight (F, C/groups, kh, kw) — to
/// oneDNN (groups, F/groups, C/groups, kh, kw) when grouped, the same memory — and
/// y (B, F, OH, OW). Under bf16 x, the weights and the output gradient are rounded to
/// bf16 and every product accumulates and lands in Float32. No bias: the caller adds it.
final class OneDNNConvolution {
    struct Key: Hashable {
        var shape: ConvolutionShape
        var batch: Int
        var precision: MatrixPrecision
    }

    /// (OH, OW).
    let outputPlane: [Int]
    private let forwardStep: OneDNNStagedPrimitive
    private let dataStep: OneDNNStagedPrimitive
    private let weightStep: OneDNNStagedPrimitive

    /// nil when oneDNN has no implementation for the shape here (the caller uses im2col).
    init?(_ key: Key, engine: dnnl_engine_t) {
        let layouts = Layouts(key)
        let (strides, left, right) = layouts.window
        let direct = dnnl_convolution_direct
        var src = layouts.chosen(layouts.input, low: true), weights = layouts.chosen(layouts.weights, low: true)
        var dst = layouts.chosen(layouts.output, low: false)
        var forward = dnnl_convolution_desc_t()
        guard dnnl_convolution_forward_desc_init(&forward, dnnl_forward_training, direct, &src, &weights, nil, &dst,
                                                 strides, left, right) == dnnl_success,
              let forwardDescriptor = Self.descriptor(&forward, engine: engine, hint: nil) else { return nil }
        defer { dnnl_primitive_desc_destroy(forwardDescriptor) }

        var diffSrc = layouts.chosen(layouts.input, low: false), diffDst = layouts.chosen(layouts.output, low: true)
        var data = dnnl_convolution_desc_t()
        guard dnnl_convolution_backward_data_desc_init(&data, direct, &diffSrc, &weights, &diffDst, strides, left, right) == dnnl_success,
              let dataDescriptor = Self.descriptor(&data, engine: engine, hint: forwardDescriptor) else { return nil }
        defer { dnnl_primitive_desc_destroy(dataDescriptor) }

        var diffWeights = layouts.chosen(layouts.weights, low: false)
        var weight = dnnl_convolution_desc_t()
        guard dnnl_convolution_backward_weights_desc_init(&weight, direct, &src, &diffWeights, nil, &diffDst,
                                                          strides, left, right) == dnnl_success,
              let weightDescriptor = Self.descriptor(&weight, engine: engine, hint: forwardDescriptor) else { return nil }
        defer { dnnl_primitive_desc_destroy(weightDescriptor) }

        typealias Argument = OneDNNStagedPrimitive.Argument
        guard let forwardStep = OneDNNStagedPrimitive(forwardDescriptor, arguments: [
            Argument(kind: flock_dnnl_arg_src(), user: layouts.input, query: dnnl_query_src_md, role: .input),
            Argument(kind: flock_dnnl_arg_weights(), user: layouts.weights, query: dnnl_query_weights_md, role: .input),
            Argument(kind: flock_dnnl_arg_dst(), user: layouts.output, query: dnnl_query_dst_md, role: .output),
        ], engine: engine, name: "convolution forward"),
              let dataStep = OneDNNStagedPrimitive(dataDescriptor, arguments: [
            Argument(kind: flock_dnnl_arg_diff_dst(), user: layouts.output, query: dnnl_query_diff_dst_md, role: .input),
            Argument(kind: flock_dnnl_arg_weights(), user: layouts.weights, query: dnnl_query_weights_md, role: .input),
            Argument(kind: flock_dnnl_arg_diff_src(), user: layouts.input, query: dnnl_query_diff_src_md, role: .output),
        ], engine: engine, name: "convolution backward data"),
              let weightStep = OneDNNStagedPrimitive(weightDescriptor, arguments: [
            Argument(kind: flock_dnnl_arg_src(), user: layouts.input, query: dnnl_query_src_md, role: .input),
            Argument(kind: flock_dnnl_arg_diff_dst(), user: layouts.output, query: dnnl_query_diff_dst_md, role: .input),
            Argument(kind: flock_dnnl_arg_diff_weights(), user: layouts.weights, query: dnnl_query_diff_weights_md,
                     role: .accumulatedOutput),
        ], engine: engine, name: "convolution backward weights") else { return nil }
        (self.forwardStep, self.dataStep, self.weightStep) = (forwardStep, dataStep, weightStep)
        outputPlane = [key.shape.outputHeight, key.shape.outputWidth]
    }

    /// y (B, F, OH, OW) = conv(x, W), overwritten.
    func forward(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                 stream: dnnl_stream_t) {
        forwardStep.execute([UnsafeRawPointer(x), UnsafeRawPointer(weight), UnsafeRawPointer(y)], stream: stream)
    }

    /// dx (B, C, H, W) = the input gradient of dy (B, F, OH, OW), overwritten.
    func inputGradient(dy: UnsafePointer<Float>, weight: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>,
                       stream: dnnl_stream_t) {
        dataStep.execute([UnsafeRawPointer(dy), UnsafeRawPointer(weight), UnsafeRawPointer(dx)], stream: stream)
    }

    /// dW (F, C/groups, kh, kw) += the weight gradient of dy given x.
    func accumulateWeightGradient(x: UnsafePointer<Float>, dy: UnsafePointer<Float>, into dw: UnsafeMutablePointer<Float>,
                                  stream: dnnl_stream_t) {
        weightStep.execute([UnsafeRawPointer(x), UnsafeRawPointer(dy), UnsafeRawPointer(dw)], stream: stream)
    }

    /// A primitive descriptor with its own scratchpad (the library's would be shared by
    /// the ranks' threads); nil when oneDNN has no implementation.
    private static func descriptor(_ operation: inout dnnl_convolution_desc_t, engine: dnnl_engine_t,
                                   hint: dnnl_primitive_desc_t?) -> dnnl_primitive_desc_t? {
        var attributes: dnnl_primitive_attr_t?
        OneDNN.check(dnnl_primitive_attr_create(&attributes), "primitive_attr_create")
        defer { dnnl_primitive_attr_destroy(attributes) }
        OneDNN.check(dnnl_primitive_attr_set_scratchpad_mode(attributes, dnnl_scratchpad_mode_user), "set_scratchpad_mode")
        var descriptor: dnnl_primitive_desc_t?
        guard dnnl_primitive_desc_create(&descriptor, &operation, attributes, engine, hint) == dnnl_success else { return nil }
        return descriptor
    }
}

/// The memory descriptors of one convolution: Flock's plain Float32 tensors, and what
/// the primitives are asked for (any layout; bf16 for the products' inputs under bf16).
private struct Layouts {
    let input: dnnl_memory_desc_t, weights: dnnl_memory_desc_t, output: dnnl_memory_desc_t
    /// Strides, padding left/top and right/bottom, as oneDNN takes them.
    let window: ([Int64], [Int64], [Int64])
    let lowType: dnnl_data_type_t

    init(_ key: OneDNNConvolution.Key) {
        let s = key.shape, b = Int64(key.batch)
        input = Self.plain([b, Int64(s.channels), Int64(s.height), Int64(s.width)])
        let perGroup = [Int64(s.filters / s.groups), Int64(s.channels / s.groups), Int64(s.kernelHeight), Int64(s.kernelWidth)]
        weights = Self.plain(s.groups == 1 ? perGroup : [Int64(s.groups)] + perGroup)
        output = Self.plain([b, Int64(s.filters), Int64(s.outputHeight), Int64(s.outputWidth)])
        window = ([Int64(s.strideHeight), Int64(s.strideWidth)], [Int64(s.padTop), Int64(s.padLeft)],
                  [Int64(s.padBottom), Int64(s.padRight)])
        lowType = key.precision == .bf16 ? dnnl_bf16 : dnnl_f32
    }

    /// `plain`'s dimensions in any layout, in the products' input type (`low`) or Float32.
    func chosen(_ plain: dnnl_memory_desc_t, low: Bool) -> dnnl_memory_desc_t {
        var descriptor = dnnl_memory_desc_t()
        let dimensions = withUnsafeBytes(of: plain.dims) { Array($0.bindMemory(to: Int64.self).prefix(Int(plain.ndims))) }
        OneDNN.check(dnnl_memory_desc_init_by_tag(&descriptor, plain.ndims, dimensions, low ? lowType : dnnl_f32,
                                                  dnnl_format_tag_any), "memory_desc_init_by_tag(any)")
        return descriptor
    }

    private static func plain(_ dimensions: [Int64]) -> dnnl_memory_desc_t {
        var descriptor = dnnl_memory_desc_t(), dimensions = dimensions
        OneDNN.check(dnnl_memory_desc_init_by_tag(&descriptor, Int32(dimensions.count), &dimensions, dnnl_f32,
                                                  dimensions.count == 4 ? dnnl_abcd : dnnl_abcde), "memory_desc_init_by_tag")
        return descriptor
    }
}
