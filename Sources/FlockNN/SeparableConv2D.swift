import FlockTensor

/// A depthwise-separable convolution (Chollet 2017): a depthwise k×k convolution (one
/// filter per input channel, `depth_multiplier` of them) then a pointwise 1×1
/// convolution to `filters` channels, with the bias and activation on the pointwise part.
///
/// Parameters: `<path>.depthwise.weight` (C·m, 1, kh, kw), `<path>.pointwise.weight`
/// (F, C·m, 1, 1), `<path>.pointwise.bias` (F).
public struct SeparableConv2D: Layer {
    public let depthwise: Conv2D
    public let pointwise: Conv2D

    public var outputShape: [Int] { pointwise.outputShape }
    public var children: [(name: String, layer: any Layer)] { [("depthwise", depthwise), ("pointwise", pointwise)] }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        pointwise.forward(depthwise.forward(input, context: &context), context: &context)
    }

    /// `{type: separable_conv2d, filters: 32, kernel: 3, stride: 1, padding: same,
    /// depth_multiplier: 1, activation: relu, use_bias: true}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "separable_conv2d"
        public var filters: Int
        public var kernel: Int
        public var stride: Int
        public var padding: WindowGeometry.Padding
        public var depthMultiplier: Int
        public var activation: Activation
        public var useBias: Bool

        public init(filters: Int, kernel: Int, stride: Int = 1, padding: WindowGeometry.Padding = .same,
                    depthMultiplier: Int = 1, activation: Activation = .linear, useBias: Bool = true) {
            self.filters = filters
            self.kernel = kernel
            self.stride = stride
            self.padding = padding
            self.depthMultiplier = depthMultiplier
            self.activation = activation
            self.useBias = useBias
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case filters, kernel, stride, padding, activation
            case depthMultiplier = "depth_multiplier"
            case useBias = "use_bias"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a separable_conv2d layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func required(_ key: CodingKeys) throws -> Int {
                guard let value = try c.decodeIfPresent(Int.self, forKey: key) else {
                    throw ConfigError(path: decoder.fieldPath(key), "a separable_conv2d layer needs \(key.rawValue)")
                }
                try Check.positive(value, decoder.fieldPath(key))
                try Check.within(value, 1, key == .filters ? 1 << 24 : 4096, decoder.fieldPath(key))
                return value
            }
            let stride = try c.value(.stride, or: 1), multiplier = try c.value(.depthMultiplier, or: 1)
            try Check.positive(stride, decoder.fieldPath(CodingKeys.stride))
            try Check.positive(multiplier, decoder.fieldPath(CodingKeys.depthMultiplier))
            try Check.within(stride, 1, 4096, decoder.fieldPath(CodingKeys.stride))
            try Check.within(multiplier, 1, 4096, decoder.fieldPath(CodingKeys.depthMultiplier))
            self.init(filters: try required(.filters), kernel: try required(.kernel), stride: stride,
                      padding: try c.padding(.padding, path: decoder.fieldPath(CodingKeys.padding), or: .same),
                      depthMultiplier: multiplier,
                      activation: try Activation.decode(c.decodeIfPresent(String.self, forKey: .activation),
                                                        path: decoder.fieldPath(CodingKeys.activation)) ?? .linear,
                      useBias: try c.value(.useBias, or: true))
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(filters, forKey: .filters)
            try c.encode(kernel, forKey: .kernel)
            try c.encode(stride, forKey: .stride)
            try c.encode(padding.rawValue, forKey: .padding)
            try c.encode(depthMultiplier, forKey: .depthMultiplier)
            try c.encode(activation.rawValue, forKey: .activation)
            try c.encode(useBias, forKey: .useBias)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard let channels = inputShape.first, inputShape.count == 3 else {
                throw builder.error("a separable_conv2d layer needs per-sample inputs of shape (channels, height, width), got \(inputShape)")
            }
            let depthwiseSpec = Conv2D.Spec(filters: channels * depthMultiplier, kernel: kernel, stride: stride,
                                            padding: padding, groups: channels, useBias: false)
            let depthwise = try builder.nested("depthwise", configSuffix: "") { try depthwiseSpec.makeConvolution(inputShape: inputShape, builder: &$0) }
            let pointwiseSpec = Conv2D.Spec(filters: filters, kernel: 1, activation: activation, useBias: useBias)
            let pointwise = try builder.nested("pointwise", configSuffix: "") {
                try pointwiseSpec.makeConvolution(inputShape: depthwise.outputShape, builder: &$0)
            }
            return SeparableConv2D(depthwise: depthwise, pointwise: pointwise)
        }
    }
}

extension LayerConfig {
    /// A depthwise k×k convolution followed by a pointwise 1×1 convolution to `filters`.
    public static func separableConv2D(filters: Int, kernel: Int, stride: Int = 1, padding: WindowGeometry.Padding = .same,
                                       depthMultiplier: Int = 1, activation: Activation = .linear) -> LayerConfig {
        LayerConfig(SeparableConv2D.Spec(filters: filters, kernel: kernel, stride: stride, padding: padding,
                                         depthMultiplier: depthMultiplier, activation: activation))
    }
}
