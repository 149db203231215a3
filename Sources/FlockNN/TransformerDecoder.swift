import FlockTensor

/// A pre-norm Transformer decoder block (Vaswani et al. 2017, pre-norm as GPT-2) on a
/// sequence (B, T, D) with an encoder's output (B, S, D_memory) to attend to:
///
///     x = x + dropout(causal_self_attention(layer_norm(x)))
///     x = x + dropout(cross_attention(layer_norm(x), memory))
///     x = x + dropout(mlp_out(activation(mlp_in(layer_norm(x)))))
///
/// The memory is the second input of its graph node (`inputs: [tokens, encoder]`, no
/// `op`), its padding as the encoder's embedding marked it. Self-attention is causal
/// (query i sees positions ≤ i) and hides the decoder's own padding when its embedding has
/// a `padding_id`.
///
/// Children and parameter paths: `self_attention_norm`, `self_attention` (D → D),
/// `cross_attention_norm`, `cross_attention` (`key.weight`, `value.weight` (D, D_memory)),
/// `mlp_norm`, `mlp_in`, `mlp_out`.
public struct TransformerDecoder: IncrementalLayer {
    public let selfAttentionNorm: any Layer, selfAttention: MultiHeadAttention
    public let crossAttentionNorm: any Layer, crossAttention: MultiHeadAttention
    public let mlpNorm: any Layer, mlpIn: any Layer, mlpOut: any Layer
    public let dropout: Float
    public var outputShape: [Int] { selfAttention.outputShape }
    public var readsMemory: Bool { true }

    public var children: [(name: String, layer: any Layer)] {
        [("self_attention_norm", selfAttentionNorm), ("self_attention", selfAttention),
         ("cross_attention_norm", crossAttentionNorm), ("cross_attention", crossAttention),
         ("mlp_norm", mlpNorm), ("mlp_in", mlpIn), ("mlp_out", mlpOut)]
    }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        guard let memory = context.memory else {
            preconditionFailure("a transformer_decoder runs in a graph node whose second input is the sequence it attends to")
        }
        let tape = context.tape
        let h = selfAttentionNorm.forward(input, context: &context)
        let (keys, values) = selfAttention.keysAndValues(of: h, tape: tape)
        let attended = selfAttention.attend(h, keys: keys, values: values, padding: context.sequencePadding, causal: true, tape: tape)
        let (memoryKeys, memoryValues) = crossAttention.keysAndValues(of: memory.value, tape: tape)
        return crossAndMLP(tape.add(input, dropped(attended, context: &context)), memoryKeys: memoryKeys,
                           memoryValues: memoryValues, memoryPadding: memory.padding, context: &context)
    }

    /// The cross-attention and MLP halves of the block on `x` (B, T, D).
    private func crossAndMLP(_ x: Variable, memoryKeys: Variable, memoryValues: Variable, memoryPadding: Tensor?,
                             context: inout ForwardContext) -> Variable {
        let tape = context.tape
        let h = crossAttentionNorm.forward(x, context: &context)
        let crossed = crossAttention.attend(h, keys: memoryKeys, values: memoryValues, padding: memoryPadding, causal: false, tape: tape)
        let y = tape.add(x, dropped(crossed, context: &context))
        let hidden = mlpIn.forward(mlpNorm.forward(y, context: &context), context: &context)
        return tape.add(y, dropped(mlpOut.forward(hidden, context: &context), context: &context))
    }

    private func dropped(_ x: Variable, context: inout ForwardContext) -> Variable {
        TransformerEncoder.dropped(x, rate: dropout, context: &context)
    }

    /// The memory's keys and values, projected once for every step: state
    /// `[memory keys, memory values, memory padding?, self keys, self values]`, the last two
    /// growing by one position per step.
    public func beginDecoding(memory: AttentionMemory?, context: inout ForwardContext) -> DecodingState {
        guard let memory else { preconditionFailure("a transformer_decoder decodes against a memory") }
        let (keys, values) = crossAttention.keysAndValues(of: memory.value, tape: context.tape)
        return DecodingState(tensors: [keys.value, values.value, memory.padding, nil, nil])
    }

    /// One new position (B, 1, D): its keys and values join the cache, and its query attends
    /// over every cached position (all earlier ones, so no mask) and over the memory.
    public func step(_ input: Variable, position: Int, state: inout DecodingState, context: inout ForwardContext) -> Variable {
        let tape = context.tape
        let h = selfAttentionNorm.forward(input, context: &context)
        var (keys, values) = selfAttention.keysAndValues(of: h, tape: tape)
        if let cachedKeys = state.tensors[3], let cachedValues = state.tensors[4] {
            keys = tape.concatenate([tape.constant(cachedKeys), keys], axis: 1)
            values = tape.concatenate([tape.constant(cachedValues), values], axis: 1)
        }
        state.tensors[3] = keys.value
        state.tensors[4] = values.value
        let attended = selfAttention.attend(h, keys: keys, values: values, padding: nil, causal: false, tape: tape)
        return crossAndMLP(tape.add(input, attended), memoryKeys: tape.constant(state.tensors[0]!),
                           memoryValues: tape.constant(state.tensors[1]!), memoryPadding: state.tensors[2], context: &context)
    }

    /// `{type: transformer_decoder, heads: 4, mlp_units: 256, dropout: 0.1, activation: gelu}`,
    /// in a graph node with two inputs: `{name: dec, inputs: [target_tokens, encoder], layers: [...]}`.
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "transformer_decoder"
        /// heads, mlp_units, dropout and activation as a `transformer_encoder`'s (always causal).
        public var block: TransformerEncoder.Spec

        public init(heads: Int, mlpUnits: Int? = nil, dropout: Double = 0, activation: Activation = .gelu) {
            block = TransformerEncoder.Spec(heads: heads, mlpUnits: mlpUnits, dropout: dropout, causal: true, activation: activation)
        }

        public init(from decoder: any Decoder) throws {
            block = try TransformerEncoder.Spec.decode(decoder, typeName: Self.typeName, allowsCausal: false)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: TransformerEncoder.Spec.CodingKeys.self)
            try c.encode(block.heads, forKey: .heads)
            try c.encodeIfPresent(block.mlpUnits, forKey: .mlpUnits)
            try c.encode(block.dropout, forKey: .dropout)
            try c.encode(block.activation.rawValue, forKey: .activation)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            try block.checkShape(inputShape, typeName: Self.typeName, builder: builder)
            guard let memoryShape = builder.memoryShape else {
                throw builder.error("a transformer_decoder layer attends to a second sequence: put it in a model graph node with two inputs (its own and the encoder's), e.g. inputs: [target, encoder]")
            }
            guard memoryShape.count == 2, memoryShape.allSatisfy({ $0 > 0 }) else {
                throw builder.error("a transformer_decoder layer attends to sequences of shape (steps, features), but the node's second input has shape \(memoryShape)")
            }
            builder.readsMemory = true
            let selfSpec = MultiHeadAttention.Spec(heads: block.heads, causal: true)
            let crossSpec = MultiHeadAttention.Spec(heads: block.heads)
            let selfNorm = try TransformerEncoder.Spec.child("self_attention_norm", .layerNorm(), inputShape, &builder)
            let selfAttention = try builder.nested("self_attention", configSuffix: ".self_attention") {
                try selfSpec.build(inputShape: inputShape, sourceWidth: inputShape[1], builder: &$0)
            }
            let crossNorm = try TransformerEncoder.Spec.child("cross_attention_norm", .layerNorm(), inputShape, &builder)
            let crossAttention = try builder.nested("cross_attention", configSuffix: ".cross_attention") {
                try crossSpec.build(inputShape: inputShape, sourceWidth: memoryShape[1], builder: &$0)
            }
            let mlp = try block.makeMLP(inputShape: inputShape, builder: &builder)
            return TransformerDecoder(selfAttentionNorm: selfNorm, selfAttention: selfAttention, crossAttentionNorm: crossNorm,
                                      crossAttention: crossAttention, mlpNorm: mlp.norm, mlpIn: mlp.input, mlpOut: mlp.output,
                                      dropout: Float(block.dropout))
        }
    }
}

extension LayerConfig {
    /// A pre-norm Transformer decoder block (causal self-attention, cross-attention to the
    /// node's second input, MLP).
    public static func transformerDecoder(heads: Int, mlpUnits: Int? = nil, dropout: Double = 0,
                                          activation: Activation = .gelu) -> LayerConfig {
        LayerConfig(TransformerDecoder.Spec(heads: heads, mlpUnits: mlpUnits, dropout: dropout, activation: activation))
    }
}
