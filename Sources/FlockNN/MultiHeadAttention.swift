import FlockTensor

/// Multi-head self-attention (Vaswani et al. 2017) over a sequence (B, T, D):
/// Q = x·W_qᵀ + b_q, K, V likewise, per head h `softmax(Q_h K_hᵀ/√d + mask) V_h`, the
/// heads side by side, then the output projection W_o.
///
/// Parameters, each a separate tensor so a tensor-parallel split by heads is a slice:
/// `<path>.query.weight`, `key.weight`, `value.weight` (D, D) whose rows h·d..<(h+1)·d
/// are head h's; `<path>.output.weight` (D, D) whose columns h·d..<(h+1)·d read head h;
/// a bias (D) for each (`query.bias`, …). Cross-attention (a `transformer_decoder`'s)
/// reads keys and values from another sequence (B, S, D_source): `key.weight` and
/// `value.weight` are then (D, D_source).
public struct MultiHeadAttention: Layer {
    public let query: Projection, key: Projection, value: Projection, output: Projection
    public let heads: Int
    /// Query i sees keys j ≤ i only.
    public let causal: Bool
    public let outputShape: [Int]

    /// One dense projection's parameters.
    public struct Projection: Sendable {
        public let weight: ParameterSlot
        public let bias: ParameterSlot?

        public init(weight: ParameterSlot, bias: ParameterSlot?) {
            self.weight = weight
            self.bias = bias
        }
    }

    public var ownParameters: [ParameterSlot] {
        [query, key, value, output].flatMap { [$0.weight] + ($0.bias.map { [$0] } ?? []) }
    }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let (keys, values) = keysAndValues(of: input, tape: context.tape)
        return attend(input, keys: keys, values: values, padding: context.sequencePadding, causal: causal, tape: context.tape)
    }

    /// The projected keys and values (B, S, D) of `source` (B, S, D_source).
    public func keysAndValues(of source: Variable, tape: Tape) -> (keys: Variable, values: Variable) {
        (tape.linear(source, weight: key.weight, bias: key.bias), tape.linear(source, weight: value.weight, bias: value.bias))
    }

    /// `input`'s positions (B, T, D) attending over projected `keys` and `values` (B, S, D)
    /// (`padding` (B, S): 1 at keys to hide; `causal`: query i sees keys ≤ i), through the
    /// output projection: (B, T, D).
    public func attend(_ input: Variable, keys: Variable, values: Variable, padding: Tensor?, causal: Bool,
                       tape: Tape) -> Variable {
        let mask = AttentionMask(causal: causal, keyPadding: padding)
        let attended = tape.attention(query: tape.linear(input, weight: query.weight, bias: query.bias), key: keys, value: values,
                                      heads: heads, mask: mask)
        return tape.linear(attended, weight: output.weight, bias: output.bias)
    }

    /// `{type: multi_head_attention, heads: 4, causal: false, use_bias: true}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "multi_head_attention"
        public var heads: Int
        public var causal: Bool
        public var useBias: Bool

        public init(heads: Int, causal: Bool = false, useBias: Bool = true) {
            self.heads = heads
            self.causal = causal
            self.useBias = useBias
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case heads, causal
            case useBias = "use_bias"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a multi_head_attention layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let heads = try c.decodeIfPresent(Int.self, forKey: .heads) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.heads), "a multi_head_attention layer needs heads")
            }
            try Check.within(heads, 1, 4096, decoder.fieldPath(CodingKeys.heads))
            self.init(heads: heads, causal: try c.value(.causal, or: false), useBias: try c.value(.useBias, or: true))
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(heads, forKey: .heads)
            try c.encode(causal, forKey: .causal)
            try c.encode(useBias, forKey: .useBias)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard inputShape.count == 2, inputShape.allSatisfy({ $0 > 0 }) else {
                throw builder.error("a multi_head_attention layer needs per-sample sequences of shape (steps, features), got \(inputShape)")
            }
            return try build(inputShape: inputShape, sourceWidth: inputShape[1], builder: &builder)
        }

        /// The layer for queries of `inputShape` (T, D) over keys and values projected from
        /// `sourceWidth` features per position (D for self-attention).
        public func build(inputShape: [Int], sourceWidth: Int, builder: inout LayerBuilder) throws -> MultiHeadAttention {
            let width = inputShape[1]
            guard heads > 0, width % heads == 0 else {
                throw builder.error("heads: \(heads) heads do not divide the \(width) features of each position")
            }
            func projection(_ name: String, inputs: Int) -> Projection {
                let weight = builder.parameter("\(name).weight", shape: [width, inputs], isDecayed: true,
                                               initializer: .xavierUniform, fanIn: inputs, fanOut: width)
                let bias = useBias ? builder.parameter("\(name).bias", shape: [width], isDecayed: false, initializer: nil) : nil
                return Projection(weight: weight, bias: bias)
            }
            return MultiHeadAttention(query: projection("query", inputs: width), key: projection("key", inputs: sourceWidth),
                                      value: projection("value", inputs: sourceWidth), output: projection("output", inputs: width),
                                      heads: heads, causal: causal, outputShape: inputShape)
        }
    }
}

extension LayerConfig {
    /// Multi-head self-attention over a (T, D) sequence.
    public static func multiHeadAttention(heads: Int, causal: Bool = false, useBias: Bool = true) -> LayerConfig {
        LayerConfig(MultiHeadAttention.Spec(heads: heads, causal: causal, useBias: useBias))
    }
}
