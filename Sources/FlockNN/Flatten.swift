import FlockTensor

/// Flattens every per-sample dimension into one: (B, d1, d2, …) → (B, d1·d2·…).
public struct Flatten: Layer {
    public let outputShape: [Int]

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        context.tape.reshape(input, to: [input.shape[0]] + outputShape)
    }

    /// `{type: flatten}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "flatten"

        public init() {}

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(allowed: [], alsoAllowed: LayerConfig.sharedKeys, owner: "a flatten layer")
        }

        public func encode(to encoder: any Encoder) throws {}

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            Flatten(outputShape: [inputShape.reduce(1, *)])
        }
    }
}

extension LayerConfig {
    /// Flattens each sample to one axis.
    public static let flatten = LayerConfig(Flatten.Spec())
}
