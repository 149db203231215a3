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
    /// What the model was built from: a layer list (the one-chain graph), empty for a graph.
    public let layers: [LayerConfig]
    /// The graph, for a model of named inputs, nodes and outputs; nil for a layer list.
    public let graph: ModelGraph?
    /// Per parameter name, the scale on its updates when not 1 (0: frozen), from the
    /// layers' `trainable` and `lr_multiplier`.
    public let updateScales: [String: Double]
    /// How each parameter was initialized, by name: any slice of it can be made again alone.
    public let initializations: [String: ParameterInitialization]
    /// The last top-level layer that marks padding (an embedding with `padding_id`), found
    /// once: every batch asks it for its mask.
    private let paddingMarker: (any Layer)?

    public var inputShape: [Int] { root.inputShape }
    /// Per-sample output shape (a graph's first output's).
    public var outputShape: [Int] { graph?.outputShape ?? root.outputShape }
    /// Per-sample shape of output `name` (a graph's, or the layer list's one).
    public func outputShape(of name: String) -> [Int] { graph?.shapes[name] ?? outputShape }
    /// The layers at the top of the model, in the order they run: a list's, or each graph
    /// node's own layers (a shared node's are counted once).
    public var topLayers: [any Layer] {
        graph.map { graph in graph.children.map(\.layer) } ?? root.layers
    }
    /// The layers a training forward runs one after another, in that order: a list's
    /// top-level layers, or each graph node's layers in node order (a shared node's owner's
    /// again) — where ZeRO stage 3's recomputed units sit.
    public var layersInForwardOrder: [any Layer] {
        guard let graph else { return root.layers }
        return graph.nodes.flatMap { node in node.blockOwner.flatMap { graph.blocks[$0]?.layers } ?? [] }
    }
    /// The outputs loss terms may read: `output` for a layer list, a graph's named ones.
    public var outputNames: [String] { graph?.outputs ?? [LossTermConfig.modelOutput] }
    /// The batch values loss terms may compare with besides `targets`: the whole feature
    /// row (`features`), and a graph's named inputs.
    public var inputNames: [String] { [LossTarget.features.rawValue] + (graph?.inputs.filter { !$0.fromLabels }.map(\.name) ?? []) }

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
        graph = nil
        try Self.checkListed(root, parameters: parameters, after: (parametersBefore, buffersBefore))
    }

    /// Builds a graph for feature rows of `featureShape`: each node's parameters under its
    /// name (`code.0.weight`), initial values keyed by (seed, path) as a list's are.
    public init(graph config: ModelGraphConfig, featureShape: [Int], generator: RandomGenerator,
                parameters: ParameterStore = ParameterStore()) throws {
        self.parameters = parameters
        layers = []
        let (parametersBefore, buffersBefore) = (parameters.slots.count, parameters.bufferSlots.count)
        var builder = LayerBuilder(parameters: parameters, generator: generator, path: [], configPath: "model")
        let graph = try ModelGraph(config, featureShape: featureShape, builder: &builder)
        root = try Sequential([], inputShape: featureShape, builder: &builder)
        updateScales = builder.updateScales
        initializations = builder.initializations
        paddingMarker = nil
        self.graph = graph
        try Self.checkListed(graph, parameters: parameters, after: (parametersBefore, buffersBefore))
    }

    /// Every slot built after `before` must be listed by some layer of `top`: checkpoints,
    /// partitioning and the consistency check walk the layer tree.
    private static func checkListed(_ top: any Layer, parameters: ParameterStore, after before: (Int, Int)) throws {
        let (parametersBefore, buffersBefore) = before
        parameters.compact()
        let listed = Set(top.allParameters.map(\.index)), listedBuffers = Set(top.allBuffers.map(\.index))
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

    /// Runs the model on a batch (B, inputShape…): its (first) output.
    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        graph?.forward(input, context: &context) ?? root.forward(input, context: &context)
    }

    /// Runs the model on a batch (B, inputShape…): every output, by name (`output` for a
    /// layer list).
    public func forwardOutputs(_ input: Variable, context: inout ForwardContext) -> [String: Variable] {
        guard let graph else { return [LossTermConfig.modelOutput: root.forward(input, context: &context)] }
        let values = graph.values(input, context: &context)
        return Dictionary(uniqueKeysWithValues: graph.outputs.map { ($0, values[$0]!) })
    }

    /// The named inputs `loss`'s terms compare with (with `firstTermOnly`, the first
    /// term's: what metrics read) and `features`: an input's columns are copied out of
    /// `features` only when a term reads that input.
    public func inputTensors(_ features: Tensor, readBy loss: Loss, firstTermOnly: Bool = false) -> [String: Tensor] {
        let terms = firstTermOnly ? [loss.terms[0]] : loss.terms
        let names = Set(terms.map(\.target).filter { $0 != .targets && $0 != .features && $0.constant == nil }.map(\.rawValue))
        var tensors = names.isEmpty ? [:] : (graph?.inputTensors(features) ?? [:]).filter { names.contains($0.key) }
        tensors[LossTarget.features.rawValue] = features
        return tensors
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
        if let graph {
            for child in graph.children { visit(child.layer, child.name) }
        } else {
            visit(root, "layers")
        }
        return result
    }
}
