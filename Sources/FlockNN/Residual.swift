/// A skip connection around a block (He et al. 2016): `y = x + block(x)`. The block is a
/// `Sequential` at `<path>.block` and must keep the per-sample shape.
public struct Residual: Layer {
    public let block: Sequential
    public var outputShape: [Int] { block.inputShape }

    public var children: [(name: String, layer: any Layer)] { [("block", block)] }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        context.tape.add(input, block.forward(input, context: &context))
    }

    /// `{type: residual, block: [{type: dense, units: 64}, ...]}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "residual"
        public var block: [LayerConfig]

        public init(_ block: [LayerConfig]) { self.block = block }

        enum CodingKeys: String, CodingKey, CaseIterable { case block }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: ["type"], owner: "a residual layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            block = try c.decode([LayerConfig].self, forKey: .block)
            guard !block.isEmpty else { throw ConfigError(path: decoder.fieldPath(CodingKeys.block), "expected at least one layer") }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(block, forKey: .block)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            let block = try builder.nested("block", configSuffix: ".block") { inner in
                try Sequential(self.block, inputShape: inputShape, builder: &inner)
            }
            guard block.outputShape == inputShape else {
                throw builder.error("the residual block maps per-sample shape \(inputShape) to \(block.outputShape); a skip connection needs them equal")
            }
            return Residual(block: block)
        }
    }
}

extension LayerConfig {
    /// `x + block(x)`.
    public static func residual(_ block: [LayerConfig]) -> LayerConfig { LayerConfig(Residual.Spec(block)) }
}
