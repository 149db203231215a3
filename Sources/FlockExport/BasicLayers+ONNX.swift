import FlockNN

// Dense, activation, flatten and the layers that are the identity at inference.

extension Dense: ONNXExportable {
    /// x (N, …, C) · Wᵀ (C, units) + b, then the activation: MatMul broadcasts over the
    /// leading axes, as Dense maps every position of a sequence.
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let y = graph.linear(input.name, weight: weight, bias: bias, context: context, name: context.path)
        return ONNXValue(name: graph.activation(y, activation, alpha: activationAlpha, name: context.path), shape: outputShape)
    }
}

extension ActivationLayer: ONNXExportable {
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        ONNXValue(name: graph.activation(input.name, activation, alpha: alpha, name: context.path), shape: outputShape)
    }
}

extension Flatten: ONNXExportable {
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        ONNXValue(name: graph.op("Flatten", [input.name], [ONNXAttribute.int("axis", 1)], name: context.name("flatten")),
                  shape: outputShape)
    }
}

/// Inference leaves the value as it is: dropout, Gaussian noise and a stop-gradient add no node.
extension Dropout: ONNXExportable {
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue { input }
}

extension GaussianNoise: ONNXExportable {
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue { input }
}

extension StopGradient: ONNXExportable {
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue { input }
}

extension Sampling: ONNXExportable {
    /// At inference a VAE's sampling layer gives μ, the first half of the last axis.
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let half = outputShape[outputShape.count - 1]
        let y = graph.op("Slice", [input.name, graph.int64s([0], name: context.name("start")), graph.int64s([half], name: context.name("end")),
                                   graph.int64s([-1], name: context.name("axis"))], name: context.name("mean"))
        return ONNXValue(name: y, shape: outputShape)
    }
}
