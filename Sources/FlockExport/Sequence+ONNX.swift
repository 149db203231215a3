import FlockNN
import FlockTensor

// Token embeddings, positions and pooling over (N, T, D) sequences.

extension Embedding: ONNXExportable {
    /// Gather on the table (V, D) with the ids as Flock reads them: NaN → 0, clamped into
    /// 0..<V, truncated. With `padding_id`, marks (N, T) padding for later attention and pooling.
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let vocabulary = table.shape[0]
        let zero = graph.constant([0], shape: [], name: context.name("zero"))
        let isMissing = graph.op("IsNaN", [input.name], name: context.name("is_nan"))
        let filled = graph.op("Where", [isMissing, zero, input.name], name: context.name("nan_to_zero"))
        let clipped = graph.op("Clip", [filled, zero, graph.constant([Float(vocabulary - 1)], shape: [], name: context.name("last_id"))],
                               name: context.name("clip"))
        let whole = graph.op("Floor", [clipped], name: context.name("floor"))
        let ids = graph.op("Cast", [whole], [ONNXAttribute.int("to", Int(Onnx_TensorProto.DataType.int64.rawValue))],
                           name: context.name("ids"))
        if let paddingID {
            let isPadding = graph.op("Equal", [whole, graph.constant([Float(paddingID)], shape: [], name: context.name("padding_id"))],
                                     name: context.name("is_padding"))
            context.padding = graph.op("Cast", [isPadding], [ONNXAttribute.int("to", Int(Onnx_TensorProto.DataType.float.rawValue))],
                                       name: context.name("padding"))
        }
        let y = graph.op("Gather", [graph.constant(context.values(table), shape: table.shape, name: context.name("weight")), ids],
                         [ONNXAttribute.int("axis", 0)], name: context.name("gather"))
        return ONNXValue(name: y, shape: outputShape)
    }
}

extension PositionalEncoding: ONNXExportable {
    /// x + PE, the table (T, D) broadcast over the batch: the fixed sinusoids or the learned one.
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let positions = table.map { context.values($0) } ?? fixed!.scalars
        let shape = table?.shape ?? fixed!.shape
        let y = graph.op("Add", [input.name, graph.constant(positions, shape: shape, name: context.name("positions"))],
                         name: context.name("add"))
        return ONNXValue(name: y, shape: outputShape)
    }
}

extension SequencePool: ONNXExportable {
    /// (N, T, C) → (N, C): the first or last position (Gather), or the mean over the kept
    /// positions (weights (1 − padding) / max(kept, 1), as Flock's weighted step sum).
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let steps = input.shape[0]
        switch mode {
        case .first, .last:
            let index = graph.int64s([mode == .first ? 0 : steps - 1], name: context.name("position"), scalar: true)
            return ONNXValue(name: graph.op("Gather", [input.name, index], [ONNXAttribute.int("axis", 1)], name: context.name("gather")),
                             shape: outputShape)
        case .mean:
            guard let padding = context.padding else {
                let y = graph.op("ReduceMean", [input.name], [ONNXAttribute.ints("axes", [1]), ONNXAttribute.int("keepdims", 0)],
                                 name: context.name("mean"))
                return ONNXValue(name: y, shape: outputShape)
            }
            let one = graph.constant([1], shape: [], name: context.name("one"))
            let kept = graph.op("Sub", [one, padding], name: context.name("kept"))
            let count = graph.op("ReduceSum", [kept, graph.int64s([1], name: context.name("time_axis"))],
                                 [ONNXAttribute.int("keepdims", 1)], name: context.name("count"))
            let weights = graph.op("Div", [kept, graph.op("Max", [count, one], name: context.name("count_at_least_one"))],
                                   name: context.name("weights"))
            let columns = graph.op("Unsqueeze", [weights, graph.int64s([2], name: context.name("feature_axis"))],
                                   name: context.name("weight_columns"))
            let weighted = graph.op("Mul", [input.name, columns], name: context.name("weighted"))
            let y = graph.op("ReduceSum", [weighted, graph.int64s([1], name: context.name("sum_axis"))],
                             [ONNXAttribute.int("keepdims", 0)], name: context.name("sum"))
            return ONNXValue(name: y, shape: outputShape)
        }
    }
}
