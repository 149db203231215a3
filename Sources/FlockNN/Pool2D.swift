import FlockTensor

/// Max or average pooling over per-sample (C, H, W) inputs, each channel on its own.
/// Average pooling counts only the positions inside the input (SAME padding never
/// dilutes a border window).
public struct Pool2D: Layer {
    /// What a window reduces to.
    public enum Reduction: String, Sendable {
        case max, average
    }

    public let reduction: Reduction
    public let geometry: WindowGeometry

    public var outputShape: [Int] { [geometry.channels, geometry.outputHeight, geometry.outputWidth] }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        switch reduction {
        case .max: context.tape.maxPool2D(input, geometry: geometry)
        case .average: context.tape.averagePool2D(input, geometry: geometry)
        }
    }

    /// The fields both pooling kinds share: `{pool: 2, stride: 2, padding: valid}`;
    /// `stride` defaults to `pool`.
    public struct Window: Equatable, Sendable {
        public var pool: Int
        public var stride: Int?
        public var padding: WindowGeometry.Padding

        enum CodingKeys: String, CodingKey, CaseIterable { case pool, stride, padding }

        init(pool: Int, stride: Int?, padding: WindowGeometry.Padding) {
            self.pool = pool
            self.stride = stride
            self.padding = padding
        }

        init(from decoder: any Decoder, owner: String) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: owner)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            pool = try c.value(.pool, or: 2)
            try Check.positive(pool, decoder.fieldPath(CodingKeys.pool))
            try Check.within(pool, 1, 4096, decoder.fieldPath(CodingKeys.pool))
            stride = try c.decodeIfPresent(Int.self, forKey: .stride)
            if let stride {
                try Check.positive(stride, decoder.fieldPath(CodingKeys.stride))
                try Check.within(stride, 1, 4096, decoder.fieldPath(CodingKeys.stride))
            }
            padding = try c.padding(.padding, path: decoder.fieldPath(CodingKeys.padding), or: .valid)
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(pool, forKey: .pool)
            try c.encodeIfPresent(stride, forKey: .stride)
            try c.encode(padding.rawValue, forKey: .padding)
        }

        func makeLayer(_ reduction: Reduction, inputShape: [Int], builder: LayerBuilder, what: String) throws -> Pool2D {
            let step = stride ?? pool
            let geometry = try builder.windowGeometry(inputShape: inputShape, kernel: (pool, pool), stride: (step, step),
                                                      padding: padding, what: what)
            return Pool2D(reduction: reduction, geometry: geometry)
        }
    }
}

/// `{type: max_pool2d, pool: 2, stride: 2, padding: valid}`
public struct MaxPool2DSpec: LayerSpec, Equatable {
    public static let typeName = "max_pool2d"
    public var window: Pool2D.Window

    public init(pool: Int = 2, stride: Int? = nil, padding: WindowGeometry.Padding = .valid) {
        window = Pool2D.Window(pool: pool, stride: stride, padding: padding)
    }

    public init(from decoder: any Decoder) throws { window = try Pool2D.Window(from: decoder, owner: "a max_pool2d layer") }
    public func encode(to encoder: any Encoder) throws { try window.encode(to: encoder) }

    public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
        try window.makeLayer(.max, inputShape: inputShape, builder: builder, what: "a max_pool2d layer")
    }
}

/// `{type: avg_pool2d, pool: 2, stride: 2, padding: valid}`
public struct AvgPool2DSpec: LayerSpec, Equatable {
    public static let typeName = "avg_pool2d"
    public var window: Pool2D.Window

    public init(pool: Int = 2, stride: Int? = nil, padding: WindowGeometry.Padding = .valid) {
        window = Pool2D.Window(pool: pool, stride: stride, padding: padding)
    }

    public init(from decoder: any Decoder) throws { window = try Pool2D.Window(from: decoder, owner: "an avg_pool2d layer") }
    public func encode(to encoder: any Encoder) throws { try window.encode(to: encoder) }

    public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
        try window.makeLayer(.average, inputShape: inputShape, builder: builder, what: "an avg_pool2d layer")
    }
}

extension LayerConfig {
    /// Max pooling with a square window (`stride` defaults to `pool`).
    public static func maxPool2D(pool: Int = 2, stride: Int? = nil, padding: WindowGeometry.Padding = .valid) -> LayerConfig {
        LayerConfig(MaxPool2DSpec(pool: pool, stride: stride, padding: padding))
    }

    /// Average pooling with a square window (`stride` defaults to `pool`).
    public static func avgPool2D(pool: Int = 2, stride: Int? = nil, padding: WindowGeometry.Padding = .valid) -> LayerConfig {
        LayerConfig(AvgPool2DSpec(pool: pool, stride: stride, padding: padding))
    }
}
