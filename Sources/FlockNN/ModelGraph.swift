import FlockTensor

/// A built `ModelGraphConfig`: its inputs as column ranges of the feature row, its nodes
/// with their layers, in order. Each node with layers owns a `Sequential` at its name
/// (`code.0.weight`); a node that shares runs the owner's `Sequential` again, so the
/// parameters' gradients add up over every use.
public struct ModelGraph: Layer {
    /// One named input: columns `columns` of the flattened feature row, as (B, shape…), or
    /// (`fromLabels`, no columns) the batch's class labels one-hot, (B, classes).
    public struct Input: Sendable {
        public let name: String
        public let shape: [Int]
        public let columns: Range<Int>
        public var fromLabels = false
    }

    /// One built node.
    public struct Node {
        public let name: String
        public let inputs: [String]
        public let merge: MergeOp?
        /// The node whose layers run here: this node's own name, another's (`shares`), or
        /// nil for a merge alone.
        public let blockOwner: String?

        /// The input its layers attend to (a `transformer_decoder`'s memory): the second of
        /// two inputs taken without a merge.
        public var memoryInput: String? { merge == nil && inputs.count == 2 ? inputs[1] : nil }
    }

    /// What the graph was built from.
    public let config: ModelGraphConfig
    public let featureShape: [Int]
    public let inputs: [Input]
    public let nodes: [Node]
    public let outputs: [String]
    /// The layers of each node that has its own, by node name.
    public let blocks: [String: Sequential]
    /// Per-sample shape of every input and node, by name.
    public let shapes: [String: [Int]]

    public var outputShape: [Int] { shapes[outputs[0]]! }

    public var children: [(name: String, layer: any Layer)] {
        nodes.compactMap { node in blocks[node.name].map { (node.name, $0 as any Layer) } }
    }

    /// Builds `config` for feature rows of `featureShape`, registering each node's
    /// parameters under its name. Throws a `ConfigError` naming the field
    /// (`model.nodes[2].inputs`) whose shapes do not fit.
    public init(_ config: ModelGraphConfig, featureShape: [Int], builder: inout LayerBuilder) throws {
        try config.validate(path: "model")
        self.config = config
        self.featureShape = featureShape
        inputs = try Self.layOut(config.inputs, featureShape: featureShape)
        var shapes = Dictionary(uniqueKeysWithValues: inputs.map { ($0.name, $0.shape) })
        var blocks: [String: Sequential] = [:], nodes: [Node] = [], memoryShapes: [String: [Int]] = [:]
        for (index, node) in config.nodes.enumerated() {
            let path = "model.nodes[\(index)]"
            let inputShapes = node.inputs.map { shapes[$0]! }
            var shape = inputShapes[0]
            let memoryShape = node.op == nil && inputShapes.count == 2 ? inputShapes[1] : nil
            if let op = node.op {
                guard let merged = op.outputShape(inputShapes) else {
                    throw ConfigError(path: "\(path).inputs", "\(op.rawValue) takes \(op.requirement), got \(zip(node.inputs, inputShapes).map { "\($0): \($1)" }.joined(separator: ", "))")
                }
                shape = merged
            }
            if let layers = node.layers {
                // Config paths `model.nodes[1].layers[0]`, parameter paths `<node>.0.weight`.
                builder.memoryShape = memoryShape
                builder.readsMemory = false
                let block = try builder.nested(node.name, configSuffix: ".nodes[\(index)].layers") { child in
                    try Sequential(layers, inputShape: shape, builder: &child)
                }
                builder.memoryShape = nil
                if memoryShape != nil, !builder.readsMemory {
                    throw ConfigError(path: "\(path).op", "a node with several inputs merges them (expected one of \(MergeOp.allowedValues.joined(separator: ", "))) unless a transformer_decoder among its layers attends to the second")
                }
                memoryShapes[node.name] = memoryShape
                blocks[node.name] = block
                shape = block.outputShape
            } else if let owner = node.shares, let block = blocks[owner] {
                guard block.inputShape == shape, memoryShapes[owner] == memoryShape else {
                    let attends = memoryShapes[owner].map { " attending to \($0)" } ?? ""
                    let given = memoryShape.map { " attending to \($0)" } ?? ""
                    throw ConfigError(path: "\(path).inputs", "node '\(owner)' takes inputs of shape \(block.inputShape)\(attends), got \(shape)\(given)")
                }
                shape = block.outputShape
            }
            shapes[node.name] = shape
            nodes.append(Node(name: node.name, inputs: node.inputs, merge: node.op,
                              blockOwner: node.layers != nil ? node.name : node.shares))
        }
        self.nodes = nodes
        self.blocks = blocks
        self.shapes = shapes
        outputs = config.outputs
    }

    /// The inputs as consecutive column ranges of the flattened feature row, which they
    /// must cover exactly.
    private static func layOut(_ configs: [GraphInputConfig], featureShape: [Int]) throws -> [Input] {
        let width = featureShape.reduce(1, *)
        var offset = 0, inputs: [Input] = []
        for config in configs {
            if config.from == .labels {
                inputs.append(Input(name: config.name, shape: config.shape ?? [], columns: offset..<offset, fromLabels: true))
                continue
            }
            let shape = config.shape ?? featureShape
            let count = shape.reduce(1, *)
            inputs.append(Input(name: config.name, shape: shape, columns: offset..<(offset + count)))
            offset += count
        }
        guard offset == width else {
            throw ConfigError(path: "model.inputs", "the inputs take \(offset) columns of the feature row but the data's samples have \(width) (shape \(featureShape))")
        }
        return inputs
    }

    /// Every input and node's value on a batch of feature rows (B, featureShape…), by name.
    public func values(_ features: Variable, context: inout ForwardContext) -> [String: Variable] {
        values(given: inputValues(features, labels: context.labels, tape: context.tape), context: &context)
    }

    /// The values of the nodes that `given` (inputs, or any node's value: a decoder's code)
    /// lets compute, with `given`; a node already given is not run, one whose inputs are
    /// missing is left out.
    public func values(given: [String: Variable], context: inout ForwardContext) -> [String: Variable] {
        valuesAndPaddings(given: given, context: &context).values
    }

    /// `values(given:context:)`, with the padding mask in effect after each node ran (the
    /// one its layers or an earlier node's embedding marked), which a node attending to it
    /// hides.
    public func valuesAndPaddings(given: [String: Variable], context: inout ForwardContext)
        -> (values: [String: Variable], paddings: [String: Tensor]) {
        var values = given, paddings: [String: Tensor] = [:]
        for node in nodes where values[node.name] == nil {
            let taken = node.inputs.compactMap { values[$0] }
            guard taken.count == node.inputs.count else { continue }
            var x = node.merge?.apply(taken, tape: context.tape) ?? taken[0]
            if let owner = node.blockOwner {
                let saved = (context.memory, context.sequencePadding)
                if let memory = node.memoryInput {
                    // The decoder's own sequence starts with no padding but what its embedding marks.
                    context.memory = AttentionMemory(value: values[memory]!, padding: paddings[memory])
                    context.sequencePadding = nil
                }
                x = blocks[owner]!.forward(x, context: &context)
                if node.memoryInput != nil { (context.memory, context.sequencePadding) = saved }
            }
            values[node.name] = x
            paddings[node.name] = context.sequencePadding
        }
        return (values, paddings)
    }

    /// The named inputs: views of the feature row's columns, (B, shape…) each, and the
    /// one-hot `labels` (B) for an input from labels.
    private func inputValues(_ features: Variable, labels: Tensor?, tape: Tape) -> [String: Variable] {
        if inputs.count == 1, inputs[0].shape == featureShape, !inputs[0].fromLabels { return [inputs[0].name: features] }
        let rows = features.shape[0]
        let flat = tape.reshape(features, to: [rows, featureShape.reduce(1, *)])
        return Dictionary(uniqueKeysWithValues: inputs.map { input in
            guard !input.fromLabels else { return (input.name, tape.constant(Self.oneHot(labels, rows: rows, classes: input.shape[0]))) }
            return (input.name, tape.reshape(tape.slice(flat, axis: 1, range: input.columns), to: [rows] + input.shape))
        })
    }

    /// (rows, classes): 1 at each row's label. A missing label (none given, or one outside
    /// 0..<classes, which the trainer refuses up front) leaves its row zero.
    public static func oneHot(_ labels: Tensor?, rows: Int, classes: Int) -> Tensor {
        var scalars = [Float](repeating: 0, count: rows * classes)
        if let labels, labels.count == rows {
            for (row, label) in labels.scalars.enumerated() where label >= 0 && label < Float(classes) {
                scalars[row * classes + Int(label)] = 1
            }
        }
        return Tensor(shape: [rows, classes], scalars: scalars)
    }

    /// The inputs whose values are the batch's class labels.
    public var labelInputs: [Input] { inputs.filter(\.fromLabels) }

    /// The first output, as a layer of one input and one output runs.
    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        values(input, context: &context)[outputs[0]]!
    }

    /// Each input's columns of `features` (B, featureShape…) as (B, shape…), by name.
    public func inputTensors(_ features: Tensor) -> [String: Tensor] {
        // One input over the whole row (an autoencoder's): the features themselves, no copy.
        if inputs.count == 1, inputs[0].shape == featureShape { return [inputs[0].name: features] }
        let rows = features.shape.first ?? 0, width = featureShape.reduce(1, *)
        var result: [String: Tensor] = [:]
        for input in inputs where !input.fromLabels {
            var scalars: [Float] = []
            scalars.reserveCapacity(rows * input.columns.count)
            for row in 0..<rows { scalars += features.scalars[(row * width + input.columns.lowerBound)..<(row * width + input.columns.upperBound)] }
            result[input.name] = Tensor(shape: [rows] + input.shape, scalars: scalars)
        }
        return result
    }
}
