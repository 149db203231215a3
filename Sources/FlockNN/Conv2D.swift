import FlockTensor

/// A 2-D convolution over per-sample (C, H, W) inputs: `y = activation(conv(x, W) + b)`,
/// computed as im2col and one sgemm over the whole batch (per channel group).
///
/// Parameters: `<path>.weight` (F, C / groups, kh, kw), `<path>.bias` (F) — PyTorch's
/// `nn.Conv2d` layout. `groups: C` is a depthwise convolution; `kernel: 1` a 1×1
/// (bottleneck) convolution.
public struct Conv2D: Layer {
    public let weight: ParameterSlot
    public let bias: ParameterSlot?
    public let geometry: WindowGeometry
    public let groups: Int
    public let activation: Activation
    public let activationAlpha: Float?

    public var outputShape: [Int] { [weight.shape[0], geometry.outputHeight, geometry.outputWidth] }
    public var ownParameters: [ParameterSlot] { [weight] + (bias.map { [$0] } ?? []) }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let tape = context.tape
        if activation == .relu {
            return tape.convolution2D(input, weight: weight, bias: bias, geometry: geometry, groups: groups, relu: true)
        }
        let y = tape.convolution2D(input, weight: weight, bias: bias, geometry: geometry, groups: groups)
        return activation == .linear ? y : tape.activation(y, activation, alpha: activationAlpha)
    }

    /// `{type: conv2d, filters: 16, kernel: 3, stride: 1, padding: same, activation: relu,
    /// groups: 1, use_bias: true, initializer: he_normal}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "conv2d"
        public var filters: Int
        public var kernel: Int
        public var kernelWidth: Int
        public var stride: Int
        public var strideWidth: Int
        public var padding: WindowGeometry.Padding
        public var activation: Activation
        public var alpha: Double?
        public var groups: Int
        public var useBias: Bool
        public var initializer: Initializer?

        /// A `kernel`×`kernel` convolution (`kernelWidth`, `strideWidth` default to the square).
        public init(filters: Int, kernel: Int, kernelWidth: Int? = nil, stride: Int = 1, strideWidth: Int? = nil,
                    padding: WindowGeometry.Padding = .same, activation: Activation = .linear, alpha: Double? = nil,
                    groups: Int = 1, useBias: Bool = true, initializer: Initializer? = nil) {
            self.filters = filters
            self.kernel = kernel
            self.kernelWidth = kernelWidth ?? kernel
            self.stride = stride
            self.strideWidth = strideWidth ?? stride
            self.padding = padding
            self.activation = activation
            self.alpha = alpha
            self.groups = groups
            self.useBias = useBias
            self.initializer = initializer
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case filters, kernel, stride, padding, activation, alpha, groups, initializer
            case useBias = "use_bias"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a conv2d layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let filters = try c.decodeIfPresent(Int.self, forKey: .filters) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.filters), "a conv2d layer needs filters")
            }
            try Check.positive(filters, decoder.fieldPath(CodingKeys.filters))
            try Check.within(filters, 1, 1 << 24, decoder.fieldPath(CodingKeys.filters))
            guard let kernel = try c.sizePair(.kernel, path: decoder.fieldPath(CodingKeys.kernel), or: nil) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.kernel), "a conv2d layer needs kernel")
            }
            let stride = try c.sizePair(.stride, path: decoder.fieldPath(CodingKeys.stride), or: (1, 1))!
            let groups = try c.value(.groups, or: 1)
            try Check.positive(groups, decoder.fieldPath(CodingKeys.groups))
            let fields = try ActivationFields(from: decoder)
            self.init(filters: filters, kernel: kernel.0, kernelWidth: kernel.1, stride: stride.0, strideWidth: stride.1,
                      padding: try c.padding(.padding, path: decoder.fieldPath(CodingKeys.padding), or: .same),
                      activation: fields.activation, alpha: fields.alpha, groups: groups, useBias: fields.useBias,
                      initializer: fields.initializer)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(filters, forKey: .filters)
            try c.encode(EncodedPair((kernel, kernelWidth)), forKey: .kernel)
            try c.encode(EncodedPair((stride, strideWidth)), forKey: .stride)
            try c.encode(padding.rawValue, forKey: .padding)
            try c.encode(activation.rawValue, forKey: .activation)
            try c.encodeIfPresent(alpha, forKey: .alpha)
            try c.encode(groups, forKey: .groups)
            try c.encode(useBias, forKey: .useBias)
            try c.encodeIfPresent(initializer?.name, forKey: .initializer)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            try makeConvolution(inputShape: inputShape, builder: &builder)
        }

        /// `makeLayer` with the concrete type, for layers built from convolutions.
        public func makeConvolution(inputShape: [Int], builder: inout LayerBuilder) throws -> Conv2D {
            guard filters > 0, groups > 0 else { throw builder.error("filters and groups: expected positive integers, got \(filters), \(groups)") }
            let geometry = try builder.windowGeometry(inputShape: inputShape, kernel: (kernel, kernelWidth),
                                                      stride: (stride, strideWidth), padding: padding, what: "a conv2d layer")
            guard geometry.channels % groups == 0, filters % groups == 0 else {
                throw builder.error("groups: \(groups) must divide both the input channels (\(geometry.channels)) and filters (\(filters))")
            }
            let perGroup = geometry.channels / groups
            let chosen = initializer ?? ActivationFields.defaultInitializer(for: activation)
            let weight = builder.parameter("weight", shape: [filters, perGroup, kernel, kernelWidth], isDecayed: true,
                                           initializer: chosen, fanIn: perGroup * geometry.taps,
                                           fanOut: filters / groups * geometry.taps)
            let bias = useBias ? builder.parameter("bias", shape: [filters], isDecayed: false, initializer: nil) : nil
            return Conv2D(weight: weight, bias: bias, geometry: geometry, groups: groups, activation: activation,
                          activationAlpha: alpha.map(Float.init))
        }
    }
}

extension LayerConfig {
    /// A 2-D convolution with a square kernel and stride over (C, H, W) inputs.
    public static func conv2D(filters: Int, kernel: Int, stride: Int = 1, padding: WindowGeometry.Padding = .same,
                              activation: Activation = .linear, groups: Int = 1, useBias: Bool = true,
                              initializer: Initializer? = nil) -> LayerConfig {
        LayerConfig(Conv2D.Spec(filters: filters, kernel: kernel, stride: stride, padding: padding, activation: activation,
                                groups: groups, useBias: useBias, initializer: initializer))
    }
}
