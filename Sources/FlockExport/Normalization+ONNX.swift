import FlockNN

// Normalization layers in inference form.

extension BatchNorm: ONNXExportable {
    /// BatchNormalization with the running statistics (inference mode) on (N, C, …).
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let channels = [scale.count]
        let inputs = [input.name,
                      graph.constant(context.values(scale), shape: channels, name: context.name("weight")),
                      graph.constant(context.values(shift), shape: channels, name: context.name("bias")),
                      graph.constant(context.values(runningMean), shape: channels, name: context.name("running_mean")),
                      graph.constant(context.values(runningVariance), shape: channels, name: context.name("running_var"))]
        return ONNXValue(name: graph.op("BatchNormalization", inputs, [ONNXAttribute.float("epsilon", epsilon)],
                                        name: context.name("batch_norm")), shape: outputShape)
    }
}

extension LayerNorm: ONNXExportable {
    /// LayerNormalization (opset 17) over the trailing axes γ covers: the last, or every per-sample axis.
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let inputs = [input.name,
                      graph.constant(context.values(scale), shape: scale.shape, name: context.name("weight")),
                      graph.constant(context.values(shift), shape: shift.shape, name: context.name("bias"))]
        let attributes = [ONNXAttribute.int("axis", -scale.shape.count), ONNXAttribute.float("epsilon", epsilon)]
        return ONNXValue(name: graph.op("LayerNormalization", inputs, attributes, name: context.name("layer_norm")),
                         shape: outputShape)
    }
}

extension GroupNorm: ONNXExportable {
    /// Decomposed (opset 17 has no GroupNormalization): (N, G, rest) normalized over
    /// `rest` with the biased variance, back to (N, C, …), then γ and β per channel.
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let grouped = graph.reshape(input.name, perSample: [groups, -1], name: context.name("groups"))
        let axes = [ONNXAttribute.ints("axes", [2]), ONNXAttribute.int("keepdims", 1)]
        let mean = graph.op("ReduceMean", [grouped], axes, name: context.name("mean"))
        let centred = graph.op("Sub", [grouped, mean], name: context.name("centred"))
        let squares = graph.op("Mul", [centred, centred], name: context.name("squares"))
        let variance = graph.op("ReduceMean", [squares], axes, name: context.name("variance"))
        let epsilonAdded = graph.op("Add", [variance, graph.constant([epsilon], shape: [], name: context.name("epsilon"))],
                                    name: context.name("variance_epsilon"))
        let deviation = graph.op("Sqrt", [epsilonAdded], name: context.name("deviation"))
        let normalized = graph.op("Div", [centred, deviation], name: context.name("normalized"))
        let back = graph.reshape(normalized, perSample: outputShape, name: context.name("ungroup"))
        // γ, β (C) broadcast as (C, 1, …) over the spatial axes.
        let channelShape = [outputShape[0]] + Array(repeating: 1, count: outputShape.count - 1)
        let y = graph.affine(back, scale: context.values(scale), shift: context.values(shift), shape: channelShape,
                             name: context.path)
        return ONNXValue(name: y, shape: outputShape)
    }
}
