import FlockNN
import FlockTensor

/// The part of a model one rank runs under model parallelism: a pipeline stage's range of
/// top-level layers and, in a tensor-parallel group, this rank's slices of their Dense
/// layers. Its store holds only this rank's parameters and buffers, named as in the whole
/// model (`layers.4.weight`), each with its `ShardPlacement` in the global tensor, and
/// starts from the whole model's values — copied from a whole model in memory, or made
/// slice by slice from a model description (`ParameterStore(holdsValues: false)`) — so
/// a sharded run begins exactly where an unsharded one with the same seed does.
///
/// Tensor parallelism splits top-level Dense layers: a Dense followed (through
/// elementwise activation or dropout layers) by another Dense makes a column → row pair;
/// any other Dense with an elementwise activation is a column layer that gathers its
/// output. Multi-head attention layers are split by heads and Transformer encoder blocks
/// as Megatron splits them (`TensorParallelAttention`, `TensorParallelEncoder`). A Dense
/// with fewer units than the group has ranks, attention with fewer heads, other layers,
/// and Dense layers inside residual blocks are replicated on every rank of the group.
public final class ModelShard {
    public let parameters: ParameterStore
    /// The top-level layers of the whole model this shard runs.
    public let layerRange: Range<Int>
    public let layers: [any Layer]
    /// Every parameter and buffer of `parameters` by name.
    public let placements: [String: ShardPlacement]
    public let tensorGroup: TensorGroup?
    /// Names of the row-parallel biases in `layers` (on the group's rank 0 only: not replicas).
    private let rowBiasNames: Set<String>
    /// Per-sample input and output of the shard in the whole model.
    public let inputShape: [Int]
    public let outputShape: [Int]

    /// Builds `model`'s layers `range` (tensor-split over `tensorGroup` when it has more
    /// than one rank) and copies their values from `model`. With `describedOnly` the
    /// shard's store is a description too (no values yet): ZeRO stage 3 gives it memory
    /// and makes each data rank's rows alone.
    public init(model: Model, layers range: Range<Int>, tensorGroup: TensorGroup? = nil, describedOnly: Bool = false) throws {
        precondition(!range.isEmpty && range.upperBound <= model.layers.count, "layers \(range) of \(model.layers.count)")
        let store = ParameterStore(holdsValues: !describedOnly)
        let splitting = tensorGroup.map { $0.width > 1 } == true ? tensorGroup : nil
        let roles = splitting.map { Self.tensorRoles(model.layers, in: range, width: $0.width) } ?? [:]
        var builder = LayerBuilder(parameters: store, generator: RandomGenerator(seed: 0), path: ["layers"], configPath: "model")
        let globalShapes = [model.inputShape] + model.root.layers.map(\.outputShape)
        var shape = globalShapes[range.lowerBound]
        var built: [any Layer] = []
        var placements: [String: ShardPlacement] = [:]
        for index in range {
            let config = model.layers[index]
            let layer = try builder.nested("\(index)", configSuffix: "[\(index)]") { child -> any Layer in
                if let role = roles[index], let group = splitting, case .linear(let linear) = config.spec.tensorParallelRole {
                    let (layer, placed) = TensorParallelDense.make(linear, role: role, inputShape: shape,
                                                                   globalInputFeatures: globalShapes[index].last!,
                                                                   group: group, builder: &child)
                    placements.merge(placed) { $1 }
                    return config.recomputes(layer) ? RecomputedLayer(layer, replays: config.recompute) : layer
                }
                if let group = splitting, let (layer, placed) = try Self.splitSequenceLayer(config, inputShape: shape, group: group,
                                                                                            builder: &child) {
                    placements.merge(placed) { $1 }
                    return config.recomputes(layer) ? RecomputedLayer(layer, replays: config.recompute) : layer
                }
                return try config.makeLayer(inputShape: shape, builder: &child)
            }
            shape = layer.outputShape
            built.append(layer)
        }
        store.compact()
        for slot in store.slots where placements[slot.name] == nil { placements[slot.name] = .whole(slot.shape) }
        for slot in store.bufferSlots { placements[slot.name] = .whole(slot.shape) }
        parameters = store
        layerRange = range
        layers = built
        self.placements = placements
        self.tensorGroup = splitting
        rowBiasNames = Set(built.flatMap(Self.rowBiases).map(\.name))
        inputShape = globalShapes[range.lowerBound]
        outputShape = globalShapes[range.upperBound]
        if describedOnly { return }
        if model.parameters.holdsValues {
            copyValues(from: model.parameters)
        } else {
            initializeValues(model.initializations)
        }
    }

    /// Runs the shard's layers on a batch (B, inputShape…) → (B, outputShape…).
    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        var x = input
        for layer in layers { x = layer.forward(x, context: &context) }
        return x
    }

    /// Whether a parameter is held whole by every rank of the tensor group (its gradient is
    /// the same on each; norms count it once).
    public func isReplicatedAcrossTensorGroup(_ slot: ParameterSlot) -> Bool {
        tensorGroup != nil && placements[slot.name]?.isWhole == true && !rowBiasNames.contains(slot.name)
    }

    /// Sets every parameter and buffer to its slice of `whole`'s tensor of the same name.
    public func copyValues(from whole: ParameterStore) {
        for slot in parameters.slots {
            let source = whole.slot(named: slot.name)!, placement = placements[slot.name]!
            whole.withParameter(source) { global in
                parameters.withParameter(slot) { placement.extract(from: UnsafeBufferPointer(global), into: $0) }
            }
        }
        for slot in parameters.bufferSlots {
            let source = whole.bufferSlots.first { $0.name == slot.name }!
            whole.withBuffer(source) { global in parameters.withBuffer(slot) { $0.update(fromContentsOf: global) } }
        }
    }

    /// Makes each parameter's slice from its initialization in the whole model (a pure
    /// function of seed, path and element): what `copyValues` would take from the whole
    /// model built in memory, without building it. Buffers keep the values they were
    /// registered with.
    public func initializeValues(_ initializations: [String: ParameterInitialization]) {
        for slot in parameters.slots {
            let initialization = initializations[slot.name]!, placement = placements[slot.name]!
            parameters.withParameter(slot) { local in
                placement.forEachRun { globalStart, localStart, count in
                    initialization.fill(UnsafeMutableBufferPointer(rebasing: local[localStart..<(localStart + count)]), from: globalStart)
                }
            }
        }
    }

    /// The biases of row-parallel layers in `layer`'s tree (an attention's output bias too):
    /// each lives on the group's rank 0 alone.
    private static func rowBiases(_ layer: any Layer) -> [ParameterSlot] {
        let layer = (layer as? RecomputedLayer)?.inner ?? layer
        var found: [ParameterSlot] = []
        if let dense = layer as? TensorParallelDense, dense.role == .row, let bias = dense.bias { found.append(bias) }
        if let attention = layer as? TensorParallelAttention, let bias = attention.output.bias { found.append(bias) }
        return found + layer.children.flatMap { rowBiases($0.layer) }
    }

    /// A top-level attention layer split by heads, or a Transformer encoder block split as
    /// Megatron splits it; nil for any other layer, or one too narrow for the group.
    private static func splitSequenceLayer(_ config: LayerConfig, inputShape: [Int], group: TensorGroup,
                                           builder: inout LayerBuilder) throws -> (any Layer, [String: ShardPlacement])? {
        guard inputShape.count == 2 else { return nil }
        switch config.spec.tensorParallelRole {
        case .attention(let shape) where TensorParallelAttention.splits(shape, width: group.width):
            return TensorParallelAttention.make(shape, inputShape: inputShape, group: group, builder: &builder)
        case .transformerBlock(let shape) where TensorParallelEncoder.splits(shape, width: group.width, features: inputShape[1]):
            return try TensorParallelEncoder.make(shape, inputShape: inputShape, group: group, builder: &builder)
        default:
            return nil
        }
    }

    /// Which top-level Dense layers of `range` are split over `width` ranks, and how. A
    /// layer with fewer units than ranks stays whole (every rank must hold at least one).
    static func tensorRoles(_ configs: [LayerConfig], in range: Range<Int>, width: Int) -> [Int: TensorParallelDense.Role] {
        func linear(_ index: Int) -> LinearShape? {
            guard case .linear(let shape) = configs[index].spec.tensorParallelRole else { return nil }
            return shape
        }
        func elementwiseDense(_ index: Int) -> Bool {
            linear(index).map { $0.activation != .softmax && $0.units >= width } == true
        }
        func passesSlices(_ index: Int) -> Bool { configs[index].spec.tensorParallelRole == .elementwise }
        var roles: [Int: TensorParallelDense.Role] = [:]
        var index = range.lowerBound
        while index < range.upperBound {
            defer { index += 1 }
            guard elementwiseDense(index) else { continue }
            var next = index + 1
            while next < range.upperBound && passesSlices(next) { next += 1 }
            if next < range.upperBound, linear(next) != nil {
                roles[index] = .column(gathersOutput: false)
                roles[next] = .row
                index = next
            } else {
                roles[index] = .column(gathersOutput: true)
            }
        }
        return roles
    }
}
