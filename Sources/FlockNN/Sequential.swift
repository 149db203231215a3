import FlockTensor

/// Layers applied in order. Child `i` lives at path `<path>.i`; the model's root is a
/// `Sequential` at `layers`, so parameters are named `layers.0.weight`, and a
/// `Sequential` nested in a `Residual` gives `layers.3.block.0.weight`.
///
/// ```swift
/// let store = ParameterStore()
/// var generator = RandomGenerator(seed: 42)
/// let model = try Sequential([.dense(units: 128, activation: .relu), .dense(units: 10)],
///                            inputShape: [64], parameters: store, generator: &generator)
/// ```
public struct Sequential: Layer {
    public let layers: [any Layer]
    public let inputShape: [Int]
    public var outputShape: [Int] { layers.last?.outputShape ?? inputShape }

    public var children: [(name: String, layer: any Layer)] {
        layers.enumerated().map { ("\($0.offset)", $0.element) }
    }

    /// Builds `configs` as the children of a `Sequential` at `builder`'s path; their config
    /// paths are `<config path><configField>[i]`.
    public init(_ configs: [LayerConfig], inputShape: [Int], builder: inout LayerBuilder, configField: String = "") throws {
        var shape = inputShape
        var built: [any Layer] = []
        for (index, config) in configs.enumerated() {
            let layer = try builder.nested("\(index)", configSuffix: "\(configField)[\(index)]") { child in
                try config.makeLayer(inputShape: shape, builder: &child)
            }
            shape = layer.outputShape
            built.append(layer)
        }
        layers = built
        self.inputShape = inputShape
    }

    /// A root `Sequential` at path `layers` (config path `model`), registering its
    /// parameters in `parameters` and drawing their initial values from `generator`.
    public init(_ configs: [LayerConfig], inputShape: [Int], parameters: ParameterStore,
                generator: inout RandomGenerator) throws {
        var builder = LayerBuilder(parameters: parameters, generator: generator, path: ["layers"], configPath: "model")
        try self.init(configs, inputShape: inputShape, builder: &builder)
        generator = builder.generator
    }

    /// On a tape that records no backward (inference), each layer's output replaces what
    /// came before it inside this chain: the values made since the chain began (never its
    /// input or anything its caller made), but the newest output and the loss terms layers
    /// added, go back to the tape's storage pool.
    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let tape = context.tape, start = tape.nodeCount
        var x = input
        for layer in layers {
            x = layer.forward(x, context: &context)
            if !tape.recordsBackward && x.id > start {
                var next = start
                for kept in context.addedLosses.map(\.id).filter({ $0 >= start && $0 < x.id }).sorted() {
                    tape.releaseValues(next..<kept)
                    next = kept + 1
                }
                tape.releaseValues(next..<x.id)
            }
        }
        return x
    }

    /// `{type: sequential, layers: [...]}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "sequential"
        public var layers: [LayerConfig]

        public init(_ layers: [LayerConfig]) { self.layers = layers }

        enum CodingKeys: String, CodingKey, CaseIterable { case layers }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a sequential layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            layers = try c.decode([LayerConfig].self, forKey: .layers)
            guard !layers.isEmpty else { throw ConfigError(path: decoder.fieldPath(CodingKeys.layers), "expected at least one layer") }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(layers, forKey: .layers)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            try Sequential(layers, inputShape: inputShape, builder: &builder, configField: ".layers")
        }
    }
}

extension LayerConfig {
    /// Layers applied in order, as one layer.
    public static func sequential(_ layers: [LayerConfig]) -> LayerConfig { LayerConfig(Sequential.Spec(layers)) }
}
