import FlockTensor

/// A skip connection around a block (He et al. 2016): `y = shortcut(x) + block(x)`. The
/// block is a `Sequential` at `<path>.block`. The shortcut is the identity when the block
/// keeps the per-sample shape; otherwise a projection at `<path>.projection`: the layers
/// given as `projection:`, or when none are given, an automatic one — a 1×1 convolution
/// without bias whose stride matches the block's downsampling for (C, H, W) shapes (the
/// ResNet "option B" shortcut), a bias-free dense layer for others.
public struct Residual: Layer {
    public let block: Sequential
    /// The shortcut's layers; nil for the identity.
    public let projection: Sequential?
    public var outputShape: [Int] { block.outputShape }

    public var children: [(name: String, layer: any Layer)] {
        [("block", block)] + (projection.map { [("projection", $0)] } ?? [])
    }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let shortcut = projection.map { $0.forward(input, context: &context) } ?? input
        return context.tape.add(shortcut, block.forward(input, context: &context))
    }

    /// `{type: residual, block: [...], projection: [...]}` (projection optional).
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "residual"
        public var block: [LayerConfig]
        /// Explicit shortcut layers (e.g. a 1×1 strided conv and a batch_norm); nil: the
        /// identity, or the automatic projection when the block changes the shape.
        public var projection: [LayerConfig]?

        public init(_ block: [LayerConfig], projection: [LayerConfig]? = nil) {
            self.block = block
            self.projection = projection
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case block, projection }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a residual layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            block = try c.decode([LayerConfig].self, forKey: .block)
            guard !block.isEmpty else { throw ConfigError(path: decoder.fieldPath(CodingKeys.block), "expected at least one layer") }
            projection = try c.decodeIfPresent([LayerConfig].self, forKey: .projection)
            if projection?.isEmpty == true {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.projection), "expected at least one layer (leave it out for the identity)")
            }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(block, forKey: .block)
            try c.encodeIfPresent(projection, forKey: .projection)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            let block = try builder.nested("block", configSuffix: ".block") { inner in
                try Sequential(self.block, inputShape: inputShape, builder: &inner)
            }
            let shortcutLayers = try projection ?? (block.outputShape == inputShape ? nil
                : Self.automaticProjection(from: inputShape, to: block.outputShape, builder: builder))
            guard let shortcutLayers else { return Residual(block: block, projection: nil) }
            let shortcut = try builder.nested("projection", configSuffix: ".projection") { inner in
                try Sequential(shortcutLayers, inputShape: inputShape, builder: &inner)
            }
            guard shortcut.outputShape == block.outputShape else {
                throw builder.error("the residual block maps per-sample shape \(inputShape) to \(block.outputShape) but its projection to \(shortcut.outputShape); a skip connection needs them equal")
            }
            return Residual(block: block, projection: shortcut)
        }

        /// A 1×1 strided convolution for images, a dense layer otherwise, both without bias.
        static func automaticProjection(from input: [Int], to output: [Int], builder: LayerBuilder) throws -> [LayerConfig] {
            if input.count == 3 && output.count == 3 {
                // The stride s whose SAME output ⌈H/s⌉ × ⌈W/s⌉ is the block's.
                let strides = (1...max(input[1], 1)).filter { (input[1] + $0 - 1) / $0 == output[1] && (input[2] + $0 - 1) / $0 == output[2] }
                if let stride = strides.first {
                    return [.conv2D(filters: output[0], kernel: 1, stride: stride, useBias: false)]
                }
            } else if input.count == output.count && input.dropLast() == output.dropLast(), let units = output.last {
                return [.dense(units: units, useBias: false)]
            }
            throw builder.error("the residual block maps per-sample shape \(input) to \(output) and no 1×1 projection matches; give projection: layers")
        }
    }
}

extension LayerConfig {
    /// `x + block(x)`, or `projection(x) + block(x)` (automatic when the block changes the shape).
    public static func residual(_ block: [LayerConfig], projection: [LayerConfig]? = nil) -> LayerConfig {
        LayerConfig(Residual.Spec(block, projection: projection))
    }
}
