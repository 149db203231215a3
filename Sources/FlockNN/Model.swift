import FlockTensor

/// A built model: its layers (a root `Sequential` at path `layers`) and the store that
/// holds their parameters and buffers.
///
/// ```swift
/// let model = try Model([.dense(units: 128, activation: .relu), .dropout(rate: 0.1), .dense(units: 10)],
///                       inputShape: [64], seed: 42)
/// print(model.parameters.slots.map(\.name))   // layers.0.weight, layers.0.bias, layers.2.weight, …
/// ```
public final class Model {
    public let parameters: ParameterStore
    public let root: Sequential
    /// What the model was built from.
    public let layers: [LayerConfig]
    /// Per parameter name, the scale on its updates when not 1 (0: frozen), from the
    /// layers' `trainable` and `lr_multiplier`.
    public let updateScales: [String: Double]
    /// How each parameter was initialized, by name: any slice of it can be made again alone.
    public let initializations: [String: ParameterInitialization]
    /// The last top-level layer that marks padding (an embedding with `padding_id`), found
    /// once: every batch asks it for its mask.
    private let paddingMarker: (any Layer)?

    public var inputShape: [Int] { root.inputShape }
    /// Per-sample output shape.
    public var outputShape: [Int] { root.outputShape }

    /// Builds `layers` for per-sample inputs of `inputShape`, drawing initial values from
    /// `generator`. Throws a `ConfigError` naming the layer (`model[2]`) that cannot take
    /// its input.
    public init(_ layers: [LayerConfig], inputShape: [Int], generator: RandomGenerator,
                parameters: ParameterStore = ParameterStore()) throws {
        guard !layers.isEmpty else { throw ConfigError(path: "model", "expected at least one layer") }
        self.parameters = parameters
        self.layers = layers
        var generator = generator
        let (parametersBefore, buffersBefore) = (parameters.slots.count, parameters.bufferSlots.count)
        var builder = LayerBuilder(parameters: parameters, generator: generator, path: ["layers"], configPath: "model")
        root = try Sequential(layers, inputShape: inputShape, builder: &builder)
        generator = builder.generator
        updateScales = builder.updateScales
        initializations = builder.initializations
        paddingMarker = root.layers.last { $0.marksPadding }
        parameters.compact()
        // Every slot built here must be listed by some layer: checkpoints, partitioning
        // and the consistency check walk the layer tree.
        let listed = Set(root.allParameters.map(\.index)), listedBuffers = Set(root.allBuffers.map(\.index))
        if let missing = parameters.slots[parametersBefore...].first(where: { !listed.contains($0.index) }) {
            throw ConfigError(path: "model", "parameter \(missing.name) was registered but no layer lists it in ownParameters")
        }
        if let missing = parameters.bufferSlots[buffersBefore...].first(where: { !listedBuffers.contains($0.index) }) {
            throw ConfigError(path: "model", "buffer \(missing.name) was registered but no layer lists it in ownBuffers")
        }
    }

    /// Builds `layers` with initial values drawn from `seed`'s initialization stream (the
    /// same values `flock train` draws for a config with this seed).
    public convenience init(_ layers: [LayerConfig], inputShape: [Int], seed: UInt64) throws {
        try self.init(layers, inputShape: inputShape, generator: RandomGenerator(seed: seed, stream: Model.initializationStream))
    }

    /// The random stream of parameter initialization, apart from data shuffling and dropout.
    public static let initializationStream: UInt64 = 1

    /// Runs the model on a batch (B, inputShape…).
    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        root.forward(input, context: &context)
    }

    /// (B, T): 1 at the padding positions of a batch of model inputs, as the last
    /// top-level layer that marks padding (an embedding with `padding_id`) reads them; nil
    /// when no layer does. What a batch carries as its padding mask.
    public func paddingMask(forInput input: Tensor) -> Tensor? {
        paddingMarker?.paddingMask(forModelInput: input)
    }

    /// Every layer with its path, depth first (`layers`, `layers.0`, `layers.3.block.0`, …).
    public var namedLayers: [(path: String, layer: any Layer)] {
        var result: [(String, any Layer)] = []
        func visit(_ layer: any Layer, _ path: String) {
            result.append((path, layer))
            for child in layer.children { visit(child.layer, "\(path).\(child.name)") }
        }
        visit(root, "layers")
        return result
    }
}
