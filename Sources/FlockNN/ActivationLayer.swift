import FlockTensor

/// An activation on its own, for models that list it as a separate layer.
public struct ActivationLayer: Layer {
    public let activation: Activation
    public let alpha: Float?
    public let outputShape: [Int]

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        context.tape.activation(input, activation, alpha: alpha)
    }

    /// `{type: activation, activation: leaky_relu, alpha: 0.1}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "activation"
        public var activation: Activation
        public var alpha: Double?

        public init(_ activation: Activation, alpha: Double? = nil) {
            self.activation = activation
            self.alpha = alpha
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case activation, alpha }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "an activation layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let path = decoder.fieldPath(CodingKeys.activation)
            guard let activation = try Activation.decode(c.decodeIfPresent(String.self, forKey: .activation), path: path) else {
                throw ConfigError(path: path, "an activation layer needs activation")
            }
            let alpha = try c.decodeIfPresent(Double.self, forKey: .alpha)
            if let alpha { try Check.nonNegative(alpha, decoder.fieldPath(CodingKeys.alpha)) }
            self.init(activation, alpha: alpha)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(activation.rawValue, forKey: .activation)
            try c.encodeIfPresent(alpha, forKey: .alpha)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            ActivationLayer(activation: activation, alpha: alpha.map(Float.init), outputShape: inputShape)
        }
    }
}

extension LayerConfig {
    /// An activation applied elementwise (softmax: along the last axis).
    public static func activation(_ activation: Activation, alpha: Double? = nil) -> LayerConfig {
        LayerConfig(ActivationLayer.Spec(activation, alpha: alpha))
    }
}
