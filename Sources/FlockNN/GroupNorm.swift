import FlockTensor

/// Group normalization (Wu & He 2018): each sample's channels (axis 0 of the per-sample
/// shape) are split into `groups` runs, each normalized over its channels and spatial
/// positions; γ and β are per channel. `groups: 1` is layer normalization over (C, H, W)
/// with per-channel affine; `groups: C` is instance normalization.
///
/// Parameters: `<path>.weight` (γ, C, ones), `<path>.bias` (β, C, zeros).
public struct GroupNorm: Layer {
    public let scale: ParameterSlot
    public let shift: ParameterSlot
    public let groups: Int
    public let epsilon: Float
    public let outputShape: [Int]

    public var ownParameters: [ParameterSlot] { [scale, shift] }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let sampleSize = outputShape.reduce(1, *), channels = outputShape[0]
        return context.tape.segmentNormalization(input, segmentLength: sampleSize / groups, spatial: sampleSize / channels,
                                                 scale: scale, shift: shift, epsilon: epsilon)
    }

    /// `{type: group_norm, groups: 4, epsilon: 1e-5}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "group_norm"
        public var groups: Int
        public var epsilon: Double

        public init(groups: Int, epsilon: Double = 1e-5) {
            self.groups = groups
            self.epsilon = epsilon
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case groups, epsilon }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a group_norm layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let groups = try c.decodeIfPresent(Int.self, forKey: .groups) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.groups), "a group_norm layer needs groups")
            }
            try Check.positive(groups, decoder.fieldPath(CodingKeys.groups))
            let epsilon = try c.value(.epsilon, or: 1e-5)
            try Check.positive(epsilon, decoder.fieldPath(CodingKeys.epsilon))
            self.init(groups: groups, epsilon: epsilon)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(groups, forKey: .groups)
            try c.encode(epsilon, forKey: .epsilon)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard let channels = inputShape.first, inputShape.count >= 2, inputShape.allSatisfy({ $0 > 0 }) else {
                throw builder.error("a group_norm layer needs per-sample inputs of shape (channels, …), got \(inputShape)")
            }
            guard groups > 0, channels % groups == 0 else {
                throw builder.error("groups: \(groups) must divide the \(channels) input channels")
            }
            return GroupNorm(scale: builder.parameter("weight", shape: [channels], isDecayed: false, initializer: .ones),
                             shift: builder.parameter("bias", shape: [channels], isDecayed: false, initializer: nil),
                             groups: groups, epsilon: Float(epsilon), outputShape: inputShape)
        }
    }
}

extension LayerConfig {
    /// Group normalization over `groups` runs of channels.
    public static func groupNorm(groups: Int, epsilon: Double = 1e-5) -> LayerConfig {
        LayerConfig(GroupNorm.Spec(groups: groups, epsilon: epsilon))
    }
}
