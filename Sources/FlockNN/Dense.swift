import FlockTensor

/// A fully connected layer on the last axis, `y = activation(x · Wᵀ + b)`: an input of
/// per-sample shape (…, C) gives (…, units), so Dense over (B, T, C) maps every position.
///
/// Parameters: `<path>.weight` (units, C), `<path>.bias` (units) — PyTorch's `nn.Linear`
/// layout.
public struct Dense: Layer {
    public let weight: ParameterSlot
    public let bias: ParameterSlot?
    public let activation: Activation
    /// Slope for LeakyReLU, scale for ELU.
    public let activationAlpha: Float?
    public let outputShape: [Int]

    public var ownParameters: [ParameterSlot] { [weight] + (bias.map { [$0] } ?? []) }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let tape = context.tape
        // ReLU runs inside the linear op's output pass; other activations are their own node.
        if activation == .relu { return tape.linear(input, weight: weight, bias: bias, relu: true) }
        return tape.activation(tape.linear(input, weight: weight, bias: bias), activation, alpha: activationAlpha)
    }

    /// `{type: dense, units: 128, activation: relu, alpha: 0.1, use_bias: true, initializer: he_normal}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "dense"
        public var units: Int
        public var activation: Activation
        /// LeakyReLU slope / ELU scale.
        public var alpha: Double?
        public var useBias: Bool
        /// He for the ReLU family, Glorot otherwise (Keras' default) when nil.
        public var initializer: Initializer?

        public init(units: Int, activation: Activation = .linear, alpha: Double? = nil, useBias: Bool = true,
                    initializer: Initializer? = nil) {
            self.units = units
            self.activation = activation
            self.alpha = alpha
            self.useBias = useBias
            self.initializer = initializer
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case units, activation, alpha, initializer
            case useBias = "use_bias"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a dense layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let units = try c.decodeIfPresent(Int.self, forKey: .units) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.units), "a dense layer needs units")
            }
            try Check.positive(units, decoder.fieldPath(CodingKeys.units))
            try Check.within(units, 1, 1 << 24, decoder.fieldPath(CodingKeys.units))
            let fields = try ActivationFields(from: decoder)
            self.init(units: units, activation: fields.activation, alpha: fields.alpha, useBias: fields.useBias,
                      initializer: fields.initializer)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(units, forKey: .units)
            try c.encode(activation.rawValue, forKey: .activation)
            try c.encodeIfPresent(alpha, forKey: .alpha)
            try c.encode(useBias, forKey: .useBias)
            try c.encodeIfPresent(initializer?.name, forKey: .initializer)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard units > 0 else { throw builder.error("units: expected a positive integer, got \(units)") }
            guard let inputFeatures = inputShape.last, inputFeatures > 0 else {
                throw builder.error("a dense layer needs inputs with a last axis of positive size, got shape \(inputShape)")
            }
            let chosen = initializer ?? ActivationFields.defaultInitializer(for: activation)
            let weight = builder.parameter("weight", shape: [units, inputFeatures], isDecayed: true, initializer: chosen,
                                           fanIn: inputFeatures, fanOut: units)
            let bias = useBias ? builder.parameter("bias", shape: [units], isDecayed: false, initializer: nil) : nil
            return Dense(weight: weight, bias: bias, activation: activation, activationAlpha: alpha.map(Float.init),
                         outputShape: Array(inputShape.dropLast()) + [units])
        }
    }
}

extension LayerConfig {
    /// A fully connected layer on the last axis.
    public static func dense(units: Int, activation: Activation = .linear, alpha: Double? = nil,
                             useBias: Bool = true, initializer: Initializer? = nil) -> LayerConfig {
        LayerConfig(Dense.Spec(units: units, activation: activation, alpha: alpha, useBias: useBias, initializer: initializer))
    }
}
