import FlockNN
import FlockTensor

// 2-D convolution and pooling on (N, C, H, W), Flock's layout and ONNX's.

extension WindowGeometry {
    /// ONNX `pads` [top, left, bottom, right]: the bottom and right pads cover what the
    /// last window reads past the input (none where it stops short: ONNX floors too).
    var onnxPads: [Int] {
        let bottom = Swift.max((outputHeight - 1) * strideHeight + kernelHeight - height - padTop, 0)
        let right = Swift.max((outputWidth - 1) * strideWidth + kernelWidth - width - padLeft, 0)
        return [padTop, padLeft, bottom, right]
    }

    var onnxWindowAttributes: [Onnx_AttributeProto] {
        [ONNXAttribute.ints("kernel_shape", [kernelHeight, kernelWidth]),
         ONNXAttribute.ints("strides", [strideHeight, strideWidth]),
         ONNXAttribute.ints("pads", onnxPads)]
    }
}

extension Conv2D: ONNXExportable {
    /// Conv with W (F, C/groups, kh, kw) as PyTorch's and ONNX's, then the activation.
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        var inputs = [input.name, graph.constant(context.values(weight), shape: weight.shape, name: context.name("weight"))]
        if let bias { inputs.append(graph.constant(context.values(bias), shape: bias.shape, name: context.name("bias"))) }
        let y = graph.op("Conv", inputs, geometry.onnxWindowAttributes + [ONNXAttribute.int("group", groups)],
                         name: context.name("conv"))
        return ONNXValue(name: graph.activation(y, activation, alpha: activationAlpha, name: context.path), shape: outputShape)
    }
}

extension Pool2D: ONNXExportable {
    /// MaxPool, or AveragePool without the padding in its counts (Flock averages the
    /// window's cells inside the input: `count_include_pad` 0, ONNX's default).
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let op = reduction == .max ? "MaxPool" : "AveragePool"
        return ONNXValue(name: graph.op(op, [input.name], geometry.onnxWindowAttributes, name: context.name(op)), shape: outputShape)
    }
}

extension GlobalAveragePool: ONNXExportable {
    /// (N, C, H, W) → (N, C, 1, 1) → (N, C).
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let pooled = graph.op("GlobalAveragePool", [input.name], name: context.name("pool"))
        return ONNXValue(name: graph.op("Flatten", [pooled], [ONNXAttribute.int("axis", 1)], name: context.name("flatten")),
                         shape: outputShape)
    }
}

extension Conv1D: ONNXExportable {
    /// (N, T, C) → (N, C, T), Conv with W (F, C/groups, K), dilations, strides, group and
    /// [before, after] pads (after: what the last output step reads past the end; ONNX
    /// floors the output length as Flock does), activation, back to (N, T', F).
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let after = Swift.max((geometry.outputSteps - 1) * geometry.stride + geometry.span - geometry.steps - geometry.padBefore, 0)
        let channelsFirst = graph.op("Transpose", [input.name], [ONNXAttribute.ints("perm", [0, 2, 1])], name: context.name("channels_first"))
        var inputs = [channelsFirst, graph.constant(context.values(weight), shape: weight.shape, name: context.name("weight"))]
        if let bias { inputs.append(graph.constant(context.values(bias), shape: bias.shape, name: context.name("bias"))) }
        let attributes = [ONNXAttribute.ints("kernel_shape", [geometry.kernel]), ONNXAttribute.ints("dilations", [geometry.dilation]),
                          ONNXAttribute.ints("strides", [geometry.stride]), ONNXAttribute.ints("pads", [geometry.padBefore, after]),
                          ONNXAttribute.int("group", groups)]
        let y = graph.op("Conv", inputs, attributes, name: context.name("conv"))
        let stepsFirst = graph.op("Transpose", [y], [ONNXAttribute.ints("perm", [0, 2, 1])], name: context.name("steps_first"))
        return ONNXValue(name: graph.activation(stepsFirst, activation, alpha: activationAlpha, name: context.path), shape: outputShape)
    }
}

extension SeparableConv2D: ONNXExportable {
    /// Its depthwise convolution, then its pointwise one.
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let path = context.path
        let depthwise = try context.export(self.depthwise, at: "\(path).depthwise", input: input, to: &graph)
        return try context.export(pointwise, at: "\(path).pointwise", input: depthwise, to: &graph)
    }
}
