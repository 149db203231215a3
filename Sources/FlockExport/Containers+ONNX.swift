import FlockNN

extension Sequential: ONNXExportable {
    /// Each layer in turn, at `<path>.<index>`.
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        var value = input
        let path = context.path
        for (index, layer) in layers.enumerated() {
            value = try context.export(layer, at: "\(path).\(index)", input: value, to: &graph)
        }
        return value
    }
}

extension Residual: ONNXExportable {
    /// shortcut(x) + block(x), the shortcut the identity or the projection's layers.
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let path = context.path
        let shortcut = try projection.map { try context.export($0, at: "\(path).projection", input: input, to: &graph) } ?? input
        let block = try context.export(self.block, at: "\(path).block", input: input, to: &graph)
        return ONNXValue(name: graph.op("Add", [shortcut.name, block.name], name: context.name("add")), shape: outputShape)
    }
}
