import FlockTensor

/// The mean of each channel's plane: per-sample (C, H, W) → (C).
public struct GlobalAveragePool: Layer {
    public let outputShape: [Int]

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        context.tape.globalAveragePool(input)
    }

    /// `{type: global_avg_pool}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "global_avg_pool"

        public init() {}

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(allowed: [], alsoAllowed: LayerConfig.sharedKeys, owner: "a global_avg_pool layer")
        }

        public func encode(to encoder: any Encoder) throws {}

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard inputShape.count == 3 else {
                throw builder.error("a global_avg_pool layer needs per-sample inputs of shape (channels, height, width), got \(inputShape)")
            }
            return GlobalAveragePool(outputShape: [inputShape[0]])
        }
    }
}

extension LayerConfig {
    /// Averages each channel over its plane: (C, H, W) → (C).
    public static let globalAveragePool = LayerConfig(GlobalAveragePool.Spec())
}
