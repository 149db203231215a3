import FlockTensor

/// The identity forward; no gradient flows back through it (a target network's branch,
/// a frozen encoder's code fed to another loss).
public struct StopGradient: Layer {
    public let outputShape: [Int]

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        context.tape.constant(input.value)
    }

    /// `{type: stop_gradient}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "stop_gradient"

        public init() {}

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(allowed: [], alsoAllowed: LayerConfig.sharedKeys, owner: "a stop_gradient layer")
        }

        public func encode(to encoder: any Encoder) throws {}

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            StopGradient(outputShape: inputShape)
        }
    }
}

extension LayerConfig {
    /// The identity with no gradient back.
    public static var stopGradient: LayerConfig { LayerConfig(StopGradient.Spec()) }
}
