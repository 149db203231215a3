import FlockTensor

/// Runs a graph's decoder node one token at a time (incremental decoding): the nodes that
/// do not read the decoder's tokens (the encoder) run once, then each step feeds one new
/// token per hypothesis through the node's layers, the `transformer_decoder`s attending
/// over their cached keys and values and the memory, so a step costs one position.
///
/// The node must take its tokens straight from a graph input (B, T) and attend to its
/// second input; its layers must each be an `IncrementalLayer` (decoder blocks, positional
/// encodings) or a `PositionwiseLayer` (embedding, dense, layer norm, activation, dropout).
public struct SequenceDecoder {
    public let graph: ModelGraph
    /// The decoder node (its logits (B, T, V) are the output decoded).
    public let node: ModelGraph.Node
    /// The graph input holding the decoder's tokens, and T, its steps.
    public let tokenInput: ModelGraph.Input
    let layers: [any Layer]

    public struct Unsupported: Error, CustomStringConvertible {
        public let description: String
    }

    /// The decoder at graph output `output`.
    public init(graph: ModelGraph, output: String) throws {
        guard let node = graph.nodes.first(where: { $0.name == output }), let owner = node.blockOwner,
              node.memoryInput != nil else {
            throw Unsupported(description: "decoding reads a node that attends to a second input (a transformer_decoder's); output '\(output)' does not")
        }
        guard let input = graph.inputs.first(where: { $0.name == node.inputs[0] }), input.shape.count == 1 else {
            throw Unsupported(description: "decoding feeds tokens to node '\(output)', so its first input must be a model input of token ids (steps); '\(node.inputs[0])' is not")
        }
        let layers = graph.blocks[owner]!.layers
        if let index = layers.firstIndex(where: { !($0 is any IncrementalLayer) && !($0 is any PositionwiseLayer) }) {
            throw Unsupported(description: "node '\(output)' cannot decode step by step: its layer \(index) (\(type(of: layers[index]))) is neither position-wise nor incremental")
        }
        self.graph = graph
        self.node = node
        tokenInput = input
        self.layers = layers
    }

    /// The states before the first token, one row per row of `features` (B, feature row):
    /// the memory's nodes run on the feature row's other inputs.
    public func begin(features: Tensor, context: inout ForwardContext) -> [DecodingState] {
        let tape = context.tape
        var given = graph.inputTensors(features).mapValues { tape.constant($0) }
        given[tokenInput.name] = nil
        let (values, paddings) = graph.valuesAndPaddings(given: given, context: &context)
        let memoryName = node.memoryInput!
        let memory = AttentionMemory(value: values[memoryName]!, padding: paddings[memoryName])
        return layers.map { ($0 as? any IncrementalLayer)?.beginDecoding(memory: memory, context: &context) ?? DecodingState() }
    }

    /// Next-token logits (B, V) after `tokens` (one per row) at `position`.
    public func step(tokens: [Int], position: Int, states: inout [DecodingState], context: inout ForwardContext) -> Tensor {
        var x = context.tape.constant(Tensor(shape: [tokens.count, 1], scalars: tokens.map(Float.init)))
        for (index, layer) in layers.enumerated() {
            if let incremental = layer as? any IncrementalLayer {
                x = incremental.step(x, position: position, state: &states[index], context: &context)
            } else {
                x = layer.forward(x, context: &context)
            }
        }
        context.sequencePadding = nil
        return x.value.reshaped([tokens.count, x.value.count / max(tokens.count, 1)])
    }

    /// The best sequences for one row of `features` (1, feature row), best first; steps
    /// at most T (the token input's).
    public func search(_ search: BeamSearch, features: Tensor, start: Int, tape: Tape) -> [BeamSearch.Hypothesis] {
        tape.reset()
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        var states = begin(features: features, context: &context)
        var position = 0
        var bounded = search
        bounded.maxSteps = min(search.maxSteps, tokenInput.shape[0])
        return bounded.search(start: start) { parents, tokens in
            states = states.map { $0.selectingRows(parents) }
            let logits = step(tokens: tokens, position: position, states: &states, context: &context)
            position += 1
            let width = logits.count / tokens.count
            return (0..<tokens.count).map { Array(logits.scalars[($0 * width)..<(($0 + 1) * width)]) }
        }
    }
}
