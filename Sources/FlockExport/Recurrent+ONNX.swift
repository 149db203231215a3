import FlockNN
import FlockTensor

extension Recurrent: ONNXExportable {
    /// ONNX's LSTM, GRU or RNN op over (T, N, C), forward only, the state from zero.
    /// Flock stacks gates in PyTorch's order (LSTM i, f, g, o; GRU r, z, n); ONNX wants
    /// LSTM i, o, f, c and GRU z, r, h, so the blocks of H rows are reordered, and a GRU
    /// applies its reset gate after the hidden bias (`linear_before_reset` 1).
    /// Shapes: W (1, G·H, C), R (1, G·H, H), B (1, 2·G·H) = [b_ih | b_hh].
    func exportONNX(_ input: ONNXValue, to graph: inout ONNXGraphBuilder, context: inout ONNXLayerContext) throws -> ONNXValue {
        let (op, order, attributes): (String, [Int], [Onnx_AttributeProto]) = switch Cell.kind {
        case .lstm: ("LSTM", [0, 3, 1, 2], [])
        case .gru: ("GRU", [1, 0, 2], [ONNXAttribute.int("linear_before_reset", 1)])
        case .simple: ("RNN", [0], [ONNXAttribute.strings("activations", ["Tanh"])])
        }
        let reorder = { (values: [Float], width: Int) in order.flatMap { values[($0 * units * width)..<(($0 + 1) * units * width)] } }
        let (features, rows) = (weightIH.shape[1], Cell.gates * units)
        let w = graph.constant(reorder(context.values(weightIH), features), shape: [1, rows, features], name: context.name("W"))
        let r = graph.constant(reorder(context.values(weightHH), units), shape: [1, rows, units], name: context.name("R"))
        let b = graph.constant(reorder(context.values(biasIH), 1) + reorder(context.values(biasHH), 1), shape: [1, 2 * rows],
                               name: context.name("B"))
        let timeMajor = graph.op("Transpose", [input.name], [ONNXAttribute.ints("perm", [1, 0, 2])], name: context.name("time_major"))
        let outputs = graph.node(op, [timeMajor, w, r, b], attributes + [ONNXAttribute.int("hidden_size", units)],
                                 name: context.name(op.lowercased()), outputs: 2)
        if returnSequences {
            // Y (T, 1, N, H) → (T, N, H) → (N, T, H).
            let squeezed = graph.op("Squeeze", [outputs[0], graph.int64s([1], name: context.name("direction_axis"))],
                                    name: context.name("squeeze"))
            return ONNXValue(name: graph.op("Transpose", [squeezed], [ONNXAttribute.ints("perm", [1, 0, 2])],
                                            name: context.name("batch_major")), shape: outputShape)
        }
        // Y_h (1, N, H) → (N, H).
        return ONNXValue(name: graph.op("Squeeze", [outputs[1], graph.int64s([0], name: context.name("direction_axis"))],
                                        name: context.name("last_state")), shape: outputShape)
    }
}
