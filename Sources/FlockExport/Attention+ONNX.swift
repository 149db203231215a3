import FlockNN
import FlockTensor

extension MultiHeadAttention: ONNXExportable {
    /// Self-attention decomposed: Q, K, V projections (N, T, D) split into heads (N, H, T, d),
    /// softmax(Q Kᵀ/√d) with hidden keys (causal: j > i; padding) set to −∞ before the
    /// softmax, a query row that sees no key giving zeros as Flock's does; the heads side
    /// by side again (N, T, D), then the output projection.
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let (steps, width) = (input.shape[0], input.shape[1])
        guard key.weight.shape[1] == width else { throw context.unsupported(self, "cross-attention outside a graph") }
        let d = width / heads
        let path = context.path
        func split(_ projection: Projection, _ label: String, perm: [Int]) -> String {
            let projected = graph.linear(input.name, weight: projection.weight, bias: projection.bias, context: context,
                                         name: "\(path).\(label)")
            let perHead = graph.reshape(projected, perSample: [steps, heads, d], name: context.name("\(label)_heads"))
            return graph.op("Transpose", [perHead], [ONNXAttribute.ints("perm", perm)], name: context.name("\(label)_transpose"))
        }
        let q = split(query, "query", perm: [0, 2, 1, 3]), keysT = split(key, "key", perm: [0, 2, 3, 1])
        let v = split(value, "value", perm: [0, 2, 1, 3])
        let products = graph.op("MatMul", [q, keysT], name: context.name("scores"))
        var scores = graph.op("Mul", [products, graph.constant([1 / Float(d).squareRoot()], shape: [], name: context.name("scale"))],
                              name: context.name("scaled_scores"))
        if let hidden = hiddenKeys(steps: steps, graph: &graph, context: context) {
            let minusInfinity = graph.constant([-Float.infinity], shape: [], name: context.name("minus_infinity"))
            scores = graph.op("Where", [hidden, minusInfinity, scores], name: context.name("masked_scores"))
        }
        var probabilities = graph.op("Softmax", [scores], [ONNXAttribute.int("axis", -1)], name: context.name("softmax"))
        if context.padding != nil {
            // A row whose every key is hidden is NaN after the softmax: zeros, as Flock gives.
            let isNaN = graph.op("IsNaN", [probabilities], name: context.name("unseen_rows"))
            probabilities = graph.op("Where", [isNaN, graph.constant([0], shape: [], name: context.name("zero")), probabilities],
                                     name: context.name("seen_probabilities"))
        }
        let attended = graph.op("MatMul", [probabilities, v], name: context.name("attended"))
        let sideBySide = graph.op("Transpose", [attended], [ONNXAttribute.ints("perm", [0, 2, 1, 3])], name: context.name("heads_back"))
        let merged = graph.reshape(sideBySide, perSample: [steps, width], name: context.name("merge_heads"))
        let y = graph.linear(merged, weight: output.weight, bias: output.bias, context: context, name: "\(path).output")
        return ONNXValue(name: y, shape: outputShape)
    }

    /// Bool (N or 1, 1, T, T): true at the keys a query may not see; nil when it sees all.
    private func hiddenKeys(steps: Int, graph: inout ONNXGraphBuilder, context: ONNXLayerContext) -> String? {
        var hidden: String?
        if causal {
            let above = (0..<(steps * steps)).map { $0 % steps > $0 / steps ? Float(1) : 0 }
            hidden = graph.constant(above, shape: [steps, steps], name: context.name("causal"))
        }
        if let padding = context.padding {
            // (N, T) → (N, 1, 1, T): the same keys hidden from every head and query.
            let keys = graph.op("Unsqueeze", [padding, graph.int64s([1, 2], name: context.name("padding_axes"))],
                                name: context.name("padding_keys"))
            hidden = hidden.map { graph.op("Add", [$0, keys], name: context.name("hidden_sum")) } ?? keys
        }
        return hidden.map { graph.op("Greater", [$0, graph.constant([0], shape: [], name: context.name("none"))],
                                     name: context.name("hidden")) }
    }
}

extension TransformerEncoder: ONNXExportable {
    /// Pre-norm block: x + attention(norm(x)), then + mlp_out(mlp_in(norm(·))); dropout removed.
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let path = context.path
        let normed = try context.export(attentionNorm, at: "\(path).attention_norm", input: input, to: &graph)
        let attended = try context.export(attention, at: "\(path).attention", input: normed, to: &graph)
        let x = ONNXValue(name: graph.op("Add", [input.name, attended.name], name: context.name("attention_residual")), shape: input.shape)
        let hidden = try context.export(mlpIn, at: "\(path).mlp_in",
                                        input: try context.export(mlpNorm, at: "\(path).mlp_norm", input: x, to: &graph), to: &graph)
        let mlp = try context.export(mlpOut, at: "\(path).mlp_out", input: hidden, to: &graph)
        return ONNXValue(name: graph.op("Add", [x.name, mlp.name], name: context.name("mlp_residual")), shape: outputShape)
    }
}
