import FlockTensor

/// A 1-D convolution over per-sample (T, C) sequences: `y = activation(conv(x, W) + b)`,
/// (T, C) → (T', filters), with `dilation` between kernel taps, `stride` between outputs,
/// `causal`, `same` or `valid` padding (`Convolution1DGeometry`), and `groups` (each group
/// of filters reads its own block of channels; `groups: C` is a depthwise convolution). With `padding: causal` output step t sees
/// input steps ≤ t only, so a stack of them with dilations 1, 2, 4, … is WaveNet's
/// (van den Oord et al. 2016) receptive field of 2^L steps.
///
/// Parameters: `<path>.weight` (F, C / groups, K), `<path>.bias` (F) — PyTorch's `nn.Conv1d` layout.
public struct Conv1D: Layer {
    public let weight: ParameterSlot
    public let bias: ParameterSlot?
    public let geometry: Convolution1DGeometry
    public let groups: Int
    public let activation: Activation
    public let activationAlpha: Float?

    public var outputShape: [Int] { [geometry.outputSteps, weight.shape[0]] }
    public var ownParameters: [ParameterSlot] { [weight] + (bias.map { [$0] } ?? []) }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let y = context.tape.convolution1D(input, weight: weight, bias: bias, geometry: geometry, groups: groups)
        return activation == .linear ? y : context.tape.activation(y, activation, alpha: activationAlpha)
    }

    /// `{type: conv1d, filters: 32, kernel: 2, dilation: 4, stride: 1, padding: causal,
    /// groups: 1, activation: tanh, use_bias: true, initializer: xavier_uniform}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "conv1d"
        public var filters: Int
        public var kernel: Int
        public var dilation: Int
        public var stride: Int
        public var padding: Convolution1DGeometry.Padding
        public var groups: Int
        public var activation: Activation
        public var alpha: Double?
        public var useBias: Bool
        public var initializer: Initializer?

        public init(filters: Int, kernel: Int, dilation: Int = 1, stride: Int = 1, padding: Convolution1DGeometry.Padding = .same,
                    groups: Int = 1, activation: Activation = .linear, alpha: Double? = nil, useBias: Bool = true,
                    initializer: Initializer? = nil) {
            (self.filters, self.kernel, self.dilation, self.stride, self.padding, self.groups) = (filters, kernel, dilation, stride, padding, groups)
            (self.activation, self.alpha, self.useBias, self.initializer) = (activation, alpha, useBias, initializer)
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case filters, kernel, dilation, stride, padding, groups, activation, alpha, initializer
            case useBias = "use_bias"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a conv1d layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func size(_ key: CodingKeys, or fallback: Int?) throws -> Int {
                guard let value = try c.decodeIfPresent(Int.self, forKey: key) ?? fallback else {
                    throw ConfigError(path: decoder.fieldPath(key), "a conv1d layer needs \(key.stringValue)")
                }
                // Sizes far beyond any sequence this trains on keep products from overflowing.
                try Check.positive(value, decoder.fieldPath(key))
                try Check.within(value, 1, 1 << 24, decoder.fieldPath(key))
                return value
            }
            let paddingName = try c.value(.padding, or: Convolution1DGeometry.Padding.same.rawValue)
            try Check.oneOf(paddingName, Convolution1DGeometry.Padding.allCases.map(\.rawValue),
                            decoder.fieldPath(CodingKeys.padding), what: "padding")
            let fields = try ActivationFields(from: decoder)
            self.init(filters: try size(.filters, or: nil), kernel: try size(.kernel, or: nil),
                      dilation: try size(.dilation, or: 1), stride: try size(.stride, or: 1),
                      padding: Convolution1DGeometry.Padding(rawValue: paddingName)!, groups: try size(.groups, or: 1),
                      activation: fields.activation, alpha: fields.alpha, useBias: fields.useBias,
                      initializer: fields.initializer)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(filters, forKey: .filters)
            try c.encode(kernel, forKey: .kernel)
            try c.encode(dilation, forKey: .dilation)
            try c.encode(stride, forKey: .stride)
            try c.encode(padding.rawValue, forKey: .padding)
            try c.encode(groups, forKey: .groups)
            try c.encode(activation.rawValue, forKey: .activation)
            try c.encodeIfPresent(alpha, forKey: .alpha)
            try c.encode(useBias, forKey: .useBias)
            try c.encodeIfPresent(initializer?.name, forKey: .initializer)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard inputShape.count == 2 else {
                throw builder.error("a conv1d layer needs per-sample sequences of shape (steps, channels), got \(inputShape) (set data.sequence for sequence rows)")
            }
            guard let geometry = Convolution1DGeometry(steps: inputShape[0], channels: inputShape[1], kernel: kernel,
                                                       dilation: dilation, stride: stride, padding: padding) else {
                throw builder.error("a conv1d layer: a kernel of \(kernel) taps with dilation \(dilation) and \(padding.rawValue) padding does not fit sequences of shape \(inputShape)")
            }
            guard geometry.channels % groups == 0, filters % groups == 0 else {
                throw builder.error("groups: \(groups) must divide both the input channels (\(geometry.channels)) and filters (\(filters))")
            }
            let perGroup = geometry.channels / groups
            let chosen = initializer ?? ActivationFields.defaultInitializer(for: activation)
            let weight = builder.parameter("weight", shape: [filters, perGroup, kernel], isDecayed: true,
                                           initializer: chosen, fanIn: perGroup * kernel, fanOut: filters / groups * kernel)
            let bias = useBias ? builder.parameter("bias", shape: [filters], isDecayed: false, initializer: nil) : nil
            return Conv1D(weight: weight, bias: bias, geometry: geometry, groups: groups, activation: activation,
                          activationAlpha: alpha.map(Float.init))
        }
    }
}

extension LayerConfig {
    /// A 1-D convolution over (T, C) sequences.
    public static func conv1D(filters: Int, kernel: Int, dilation: Int = 1, stride: Int = 1,
                              padding: Convolution1DGeometry.Padding = .same, groups: Int = 1,
                              activation: Activation = .linear, useBias: Bool = true) -> LayerConfig {
        LayerConfig(Conv1D.Spec(filters: filters, kernel: kernel, dilation: dilation, stride: stride, padding: padding,
                                groups: groups, activation: activation, useBias: useBias))
    }
}
