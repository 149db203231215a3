import FlockNN

extension ModelGraph {
    /// The graph's nodes in order on the preprocessed features (N, featureShape…): each
    /// named input a column range of the row (Slice, then its shape), each node its merge
    /// (Add, Mul, Concat on the last axis; a dot product or distance per row) then its block's layers (a shared block's
    /// weights written again at each use); returns output `name`'s value.
    func exportONNX(_ features: ONNXValue, output name: String, to graph: inout ONNXGraphBuilder,
                    context: inout ONNXLayerContext) throws -> ONNXValue {
        var values = try inputValues(features, to: &graph)
        for node in nodes {
            guard node.memoryInput == nil else {
                throw ONNXExportError.unsupportedModel("graph node \(node.name) attends to a second input (a transformer_decoder's memory), which flock export does not write yet")
            }
            var x = try merged(node, node.inputs.map { values[$0]! }, to: &graph)
            if let owner = node.blockOwner {
                x = try context.export(blocks[owner]!, at: owner, input: x, to: &graph)
            }
            values[node.name] = x
        }
        return values[name]!
    }

    private func inputValues(_ features: ONNXValue, to graph: inout ONNXGraphBuilder) throws -> [String: ONNXValue] {
        if inputs.count == 1, inputs[0].shape == featureShape, !inputs[0].fromLabels { return [inputs[0].name: features] }
        let flat = graph.op("Flatten", [features.name], [ONNXAttribute.int("axis", 1)], name: "inputs/flat")
        var values: [String: ONNXValue] = [:]
        for input in inputs {
            guard !input.fromLabels else {
                throw ONNXExportError.unsupportedModel("graph input \(input.name) is read from the labels (from: labels): the ONNX graph takes features only")
            }
            let columns = graph.op("Slice", [flat, graph.int64s([input.columns.lowerBound], name: "inputs/\(input.name)/start"),
                                             graph.int64s([input.columns.upperBound], name: "inputs/\(input.name)/end"),
                                             graph.int64s([1], name: "inputs/\(input.name)/axis")],
                                   name: "inputs/\(input.name)/columns")
            let shaped = input.shape.count == 1 ? columns : graph.reshape(columns, perSample: input.shape, name: "inputs/\(input.name)")
            values[input.name] = ONNXValue(name: shaped, shape: input.shape)
        }
        return values
    }

    private func merged(_ node: Node, _ taken: [ONNXValue], to graph: inout ONNXGraphBuilder) throws -> ONNXValue {
        guard let merge = node.merge else { return taken[0] }
        let shape = merge.outputShape(taken.map(\.shape)) ?? taken[0].shape
        let name = "\(node.name)/\(merge.rawValue)"
        switch merge {
        case .add, .multiply:
            let op = merge == .add ? "Add" : "Mul"
            let value = taken.dropFirst().reduce(taken[0].name) { graph.op(op, [$0, $1.name], name: name) }
            return ONNXValue(name: value, shape: shape)
        case .concatenate:
            return ONNXValue(name: graph.op("Concat", taken.map(\.name), [ONNXAttribute.int("axis", -1)], name: name), shape: shape)
        case .dot:
            return ONNXValue(name: rowSum(graph.op("Mul", [taken[0].name, taken[1].name], name: "\(name)_products"), name: name, graph: &graph),
                             shape: shape)
        case .euclideanDistance:
            // ‖a − b‖₂ with 1e-12 under the root, as `Tape.pairDistance`.
            let difference = graph.op("Sub", [taken[0].name, taken[1].name], name: "\(name)_difference")
            let squares = rowSum(graph.op("Mul", [difference, difference], name: "\(name)_squares"), name: "\(name)_sum", graph: &graph)
            let guarded = graph.op("Add", [squares, graph.constant([1e-12], shape: [], name: "\(name)_epsilon")], name: "\(name)_guarded")
            return ONNXValue(name: graph.op("Sqrt", [guarded], name: name), shape: shape)
        case .cosineDistance:
            // 1 − a·b / (max(‖a‖, 1e-12) · max(‖b‖, 1e-12)).
            let dot = rowSum(graph.op("Mul", [taken[0].name, taken[1].name], name: "\(name)_products"), name: "\(name)_dot", graph: &graph)
            let floor = graph.constant([1e-12], shape: [], name: "\(name)_floor")
            let norms = taken.prefix(2).enumerated().map { index, value in
                let squares = rowSum(graph.op("Mul", [value.name, value.name], name: "\(name)_squares\(index)"), name: "\(name)_sum\(index)",
                                     graph: &graph)
                return graph.op("Max", [graph.op("Sqrt", [squares], name: "\(name)_norm\(index)"), floor], name: "\(name)_guarded\(index)")
            }
            let cosine = graph.op("Div", [dot, graph.op("Mul", norms, name: "\(name)_norms")], name: "\(name)_cosine")
            return ONNXValue(name: graph.op("Sub", [graph.constant([1], shape: [], name: "\(name)_one"), cosine], name: name), shape: shape)
        }
    }

    /// (N, D) → (N, 1): each row's sum.
    private func rowSum(_ x: String, name: String, graph: inout ONNXGraphBuilder) -> String {
        graph.op("ReduceSum", [x, graph.int64s([1], name: "\(name)_axis")], [ONNXAttribute.int("keepdims", 1)], name: name)
    }
}
