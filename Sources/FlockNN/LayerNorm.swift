import FlockTensor

/// Layer normalization (Ba et al. 2016): each sample is normalized on its own, over the
/// last axis (`axes: last`, as transformers use it, γ and β of that axis' size) or over
/// every per-sample axis (`axes: all`, γ and β of the per-sample shape).
///
/// Parameters: `<path>.weight` (γ, ones), `<path>.bias` (β, zeros).
public struct LayerNorm: Layer {
    public let scale: ParameterSlot
    public let shift: ParameterSlot
    public let epsilon: Float
    public let outputShape: [Int]

    public var ownParameters: [ParameterSlot] { [scale, shift] }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        // γ's element count is the normalized run's length; each element has its own γ.
        context.tape.segmentNormalization(input, segmentLength: scale.count, spatial: 1, scale: scale, shift: shift,
                                          epsilon: epsilon)
    }

    /// Which per-sample axes one normalization covers.
    public enum Axes: String, Sendable, CaseIterable {
        case last, all
    }

    /// `{type: layer_norm, axes: last, epsilon: 1e-5}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "layer_norm"
        public var axes: Axes
        public var epsilon: Double

        public init(axes: Axes = .last, epsilon: Double = 1e-5) {
            self.axes = axes
            self.epsilon = epsilon
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case axes, epsilon }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a layer_norm layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let axes = try c.value(.axes, or: Axes.last.rawValue), epsilon = try c.value(.epsilon, or: 1e-5)
            try Check.oneOf(axes, Axes.allCases.map(\.rawValue), decoder.fieldPath(CodingKeys.axes), what: "axes")
            try Check.positive(epsilon, decoder.fieldPath(CodingKeys.epsilon))
            self.init(axes: Axes(rawValue: axes)!, epsilon: epsilon)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(axes.rawValue, forKey: .axes)
            try c.encode(epsilon, forKey: .epsilon)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard let last = inputShape.last, inputShape.allSatisfy({ $0 > 0 }) else {
                throw builder.error("a layer_norm layer needs non-empty per-sample inputs, got \(inputShape)")
            }
            let shape = axes == .last ? [last] : inputShape
            return LayerNorm(scale: builder.parameter("weight", shape: shape, isDecayed: false, initializer: .ones),
                             shift: builder.parameter("bias", shape: shape, isDecayed: false, initializer: nil),
                             epsilon: Float(epsilon), outputShape: inputShape)
        }
    }
}

extension LayerConfig {
    /// Layer normalization over the last axis (or every per-sample axis).
    public static func layerNorm(axes: LayerNorm.Axes = .last, epsilon: Double = 1e-5) -> LayerConfig {
        LayerConfig(LayerNorm.Spec(axes: axes, epsilon: epsilon))
    }
}
