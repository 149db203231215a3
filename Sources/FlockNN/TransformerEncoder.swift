import FlockTensor

/// A pre-norm Transformer encoder block (as GPT-2 and most modern encoders; Xiong et al.
/// 2020) on a sequence (B, T, D):
///
///     x = x + dropout(attention(layer_norm(x)))
///     x = x + dropout(mlp_out(activation(mlp_in(layer_norm(x)))))
///
/// Children and parameter paths: `<path>.attention_norm`, `<path>.attention` (a
/// `MultiHeadAttention`: `attention.query.weight`, …), `<path>.mlp_norm`,
/// `<path>.mlp_in` (D → mlp_units), `<path>.mlp_out` (mlp_units → D).
public struct TransformerEncoder: Layer {
    public let attentionNorm: any Layer, attention: any Layer
    public let mlpNorm: any Layer, mlpIn: any Layer, mlpOut: any Layer
    public let dropout: Float
    public var outputShape: [Int] { attention.outputShape }

    /// A block from its parts (a tensor-parallel build passes split attention and MLP layers).
    public init(attentionNorm: any Layer, attention: any Layer, mlpNorm: any Layer, mlpIn: any Layer, mlpOut: any Layer,
                dropout: Float) {
        self.attentionNorm = attentionNorm
        self.attention = attention
        self.mlpNorm = mlpNorm
        self.mlpIn = mlpIn
        self.mlpOut = mlpOut
        self.dropout = dropout
    }

    public var children: [(name: String, layer: any Layer)] {
        [("attention_norm", attentionNorm), ("attention", attention), ("mlp_norm", mlpNorm),
         ("mlp_in", mlpIn), ("mlp_out", mlpOut)]
    }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let tape = context.tape
        let attended = attention.forward(attentionNorm.forward(input, context: &context), context: &context)
        let x = tape.add(input, dropped(attended, context: &context))
        let hidden = mlpIn.forward(mlpNorm.forward(x, context: &context), context: &context)
        return tape.add(x, dropped(mlpOut.forward(hidden, context: &context), context: &context))
    }

    private func dropped(_ x: Variable, context: inout ForwardContext) -> Variable {
        Self.dropped(x, rate: dropout, context: &context)
    }

    /// Dropout of a residual branch at `rate`, in training only (a decoder block's too).
    static func dropped(_ x: Variable, rate: Float, context: inout ForwardContext) -> Variable {
        guard context.isTraining, rate > 0 else { return x }
        return context.tape.dropout(x, rate: rate, generator: &context.generator)
    }

    /// `{type: transformer_encoder, heads: 4, mlp_units: 256, dropout: 0.1, causal: false, activation: gelu}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "transformer_encoder"
        public var heads: Int
        /// Width of the MLP's hidden layer; 4·D when nil.
        public var mlpUnits: Int?
        public var dropout: Double
        public var causal: Bool
        public var activation: Activation

        public init(heads: Int, mlpUnits: Int? = nil, dropout: Double = 0, causal: Bool = false, activation: Activation = .gelu) {
            self.heads = heads
            self.mlpUnits = mlpUnits
            self.dropout = dropout
            self.causal = causal
            self.activation = activation
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case heads, dropout, causal, activation
            case mlpUnits = "mlp_units"
        }

        public init(from decoder: any Decoder) throws {
            self = try Self.decode(decoder, typeName: Self.typeName, allowsCausal: true)
        }

        /// The options of a block of type `typeName` (a `transformer_decoder`'s too, which is
        /// always causal and has no `causal` key).
        static func decode(_ decoder: any Decoder, typeName: String, allowsCausal: Bool) throws -> Spec {
            let keys = CodingKeys.allCases.filter { allowsCausal || $0 != .causal }.map(\.stringValue)
            try decoder.rejectUnknownKeys(allowed: keys, alsoAllowed: LayerConfig.sharedKeys, owner: "a \(typeName) layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let heads = try c.decodeIfPresent(Int.self, forKey: .heads) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.heads), "a \(typeName) layer needs heads")
            }
            try Check.within(heads, 1, 4096, decoder.fieldPath(CodingKeys.heads))
            let mlpUnits = try c.decodeIfPresent(Int.self, forKey: .mlpUnits)
            if let mlpUnits { try Check.within(mlpUnits, 1, 1 << 20, decoder.fieldPath(CodingKeys.mlpUnits)) }
            let dropout = try c.value(.dropout, or: 0.0)
            try Check.inRange(float: dropout, 0, 1, decoder.fieldPath(CodingKeys.dropout))
            let activation = try Activation.decode(c.decodeIfPresent(String.self, forKey: .activation),
                                                   path: decoder.fieldPath(CodingKeys.activation)) ?? .gelu
            guard activation != .softmax else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.activation), "softmax is not an elementwise activation for the MLP")
            }
            return Spec(heads: heads, mlpUnits: mlpUnits, dropout: dropout, causal: allowsCausal ? try c.value(.causal, or: false) : true,
                        activation: activation)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(heads, forKey: .heads)
            try c.encodeIfPresent(mlpUnits, forKey: .mlpUnits)
            try c.encode(dropout, forKey: .dropout)
            try c.encode(causal, forKey: .causal)
            try c.encode(activation.rawValue, forKey: .activation)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            try checkShape(inputShape, typeName: Self.typeName, builder: builder)
            let attentionNorm = try Self.child("attention_norm", .layerNorm(), inputShape, &builder)
            let attention = try Self.child("attention", .multiHeadAttention(heads: heads, causal: causal), inputShape, &builder)
            let mlp = try makeMLP(inputShape: inputShape, builder: &builder)
            return TransformerEncoder(attentionNorm: attentionNorm, attention: attention, mlpNorm: mlp.norm,
                                      mlpIn: mlp.input, mlpOut: mlp.output, dropout: Float(dropout))
        }

        /// Throws unless `inputShape` is (steps, features) and dropout is in [0, 1).
        func checkShape(_ inputShape: [Int], typeName: String, builder: LayerBuilder) throws {
            guard inputShape.count == 2, let width = inputShape.last, width > 0 else {
                throw builder.error("a \(typeName) layer needs per-sample sequences of shape (steps, features), got \(inputShape)")
            }
            guard dropout >= 0 && dropout < 1 else { throw builder.error("dropout: expected a number in [0, 1), got \(dropout)") }
        }

        /// The block's MLP: `mlp_norm`, `mlp_in` (D → mlp_units), `mlp_out` (back to D).
        func makeMLP(inputShape: [Int], builder: inout LayerBuilder) throws -> (norm: any Layer, input: any Layer, output: any Layer) {
            let width = inputShape[1]
            let mlpNorm = try Self.child("mlp_norm", .layerNorm(), inputShape, &builder)
            let mlpIn = try Self.child("mlp_in", .dense(units: mlpUnits ?? 4 * width, activation: activation), inputShape, &builder)
            let mlpOut = try Self.child("mlp_out", .dense(units: width, initializer: .xavierUniform), mlpIn.outputShape, &builder)
            return (mlpNorm, mlpIn, mlpOut)
        }

        /// Child `name` of the block built from `config` for inputs of `shape`.
        static func child(_ name: String, _ config: LayerConfig, _ shape: [Int], _ builder: inout LayerBuilder) throws -> any Layer {
            try builder.nested(name, configSuffix: ".\(name)") { try config.makeLayer(inputShape: shape, builder: &$0) }
        }
    }
}

extension LayerConfig {
    /// A pre-norm Transformer encoder block.
    public static func transformerEncoder(heads: Int, mlpUnits: Int? = nil, dropout: Double = 0, causal: Bool = false,
                                          activation: Activation = .gelu) -> LayerConfig {
        LayerConfig(TransformerEncoder.Spec(heads: heads, mlpUnits: mlpUnits, dropout: dropout, causal: causal,
                                            activation: activation))
    }
}
