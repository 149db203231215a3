import Foundation

/// A model as a graph, written like Keras' Functional API: named inputs, nodes that each
/// apply layers to the values they take (merging several first), a node that applies
/// another node's layers (shared weights), and named outputs.
///
/// ```yaml
/// model:
///   inputs: [{name: image, shape: [64]}]
///   nodes:
///     - {name: code, inputs: [image], layers: [{type: dense, units: 8, activation: tanh}]}
///     - {name: recon, inputs: [code], layers: [{type: dense, units: 64}]}
///     - {name: again, inputs: [recon], shares: code}      # the encoder's weights again
///   outputs: [recon, code, again]
/// ```
///
/// Inputs are consecutive column ranges of the dataset's feature row, in order: a batch
/// is a dictionary of named views of one row. Parameters are named by node
/// (`code.0.weight`), as a layer list's are by `layers` (`layers.0.weight`).
public struct ModelGraphConfig: Codable, Sendable, Equatable {
    public var inputs: [GraphInputConfig]
    public var nodes: [GraphNodeConfig]
    /// The first output is the model's output: metrics, predictions and a loss term with
    /// no `output:` read it.
    public var outputs: [String]

    public init(inputs: [GraphInputConfig], nodes: [GraphNodeConfig], outputs: [String]) {
        self.inputs = inputs
        self.nodes = nodes
        self.outputs = outputs
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case inputs, nodes, outputs }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, owner: "a model graph")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        inputs = try c.decode([GraphInputConfig].self, forKey: .inputs)
        nodes = try c.decode([GraphNodeConfig].self, forKey: .nodes)
        outputs = try c.decode([String].self, forKey: .outputs)
        try validate(path: "model")
    }

    /// Checks names, references and field combinations (not shapes: building does that).
    public func validate(path: String) throws {
        guard !inputs.isEmpty else { throw ConfigError(path: "\(path).inputs", "expected at least one input") }
        guard !nodes.isEmpty else { throw ConfigError(path: "\(path).nodes", "expected at least one node") }
        var known: [String] = []
        for (index, input) in inputs.enumerated() {
            try Self.checkName(input.name, known: known, path: "\(path).inputs[\(index)].name")
            try input.validate(path: "\(path).inputs[\(index)]")
            known.append(input.name)
        }
        if inputs.count > 1, let index = inputs.firstIndex(where: { $0.shape == nil }) {
            throw ConfigError(path: "\(path).inputs[\(index)].shape", "with several inputs each needs a shape: its columns of the feature row")
        }
        // A file's columns are appended after the data file's, so its input follows theirs.
        if let firstFile = inputs.firstIndex(where: { $0.source != nil }),
           let late = inputs[firstFile...].firstIndex(where: { $0.source == nil && $0.from == .features }) {
            throw ConfigError(path: "\(path).inputs[\(late)]", "an input read from the data file comes after '\(inputs[firstFile].name)', which has a source: list the inputs with a source last")
        }
        for (index, node) in nodes.enumerated() {
            try node.validate(path: "\(path).nodes[\(index)]", known: known, earlier: Array(nodes[..<index]))
            known.append(node.name)
        }
        guard !outputs.isEmpty else { throw ConfigError(path: "\(path).outputs", "expected at least one output") }
        for (index, output) in outputs.enumerated() {
            guard known.contains(output) else {
                throw ConfigError(path: "\(path).outputs[\(index)]", "unknown value '\(output)' (expected one of: \(known.joined(separator: ", ")))")
            }
            guard !outputs[..<index].contains(output) else {
                throw ConfigError(path: "\(path).outputs[\(index)]", "'\(output)' is listed twice")
            }
        }
    }

    /// Names that loss targets reserve, and so no input or node may take.
    public static let reservedNames: Set<String> = ["targets", "features"]

    static func checkName(_ name: String, known: [String], path: String) throws {
        let first = name.unicodeScalars.first
        guard let first, first == "_" || CharacterSet.letters.contains(first),
              name.unicodeScalars.allSatisfy({ $0 == "_" || CharacterSet.alphanumerics.contains($0) }) else {
            throw ConfigError(path: path, "expected a name of letters, digits and '_' (not starting with a digit), got '\(name)'")
        }
        guard !reservedNames.contains(name) else {
            throw ConfigError(path: path, "'\(name)' is reserved for loss targets; choose another name")
        }
        guard !known.contains(name) else { throw ConfigError(path: path, "'\(name)' names an earlier input or node") }
    }
}

/// One named input: `{name: image, shape: [8, 8]}`, the next `8·8` columns of the feature
/// row. A lone input may leave out its shape: the whole feature row, as the data shapes it.
/// `{name: digit, from: labels, shape: [10]}` is the batch's class label as a one-hot row
/// of 10 (a conditional GAN's condition); it takes no columns of the feature row.
public struct GraphInputConfig: Codable, Sendable, Equatable {
    public var name: String
    public var shape: [Int]?
    /// Where the input's values come from (default: the feature row's columns).
    public var from: GraphInputSource
    /// A file of its own whose rows align with the data file's — CSV (every column a value,
    /// a header row), or IDX (any other extension; each sample flattened): its columns are
    /// appended to each feature row when the data is read, so splitting, shuffling, data
    /// parallelism and normalization treat them as the row's.
    /// Inputs with a source come after those read from the data file. nil: the data file.
    public var source: String?

    public init(name: String, shape: [Int]? = nil, from: GraphInputSource = .features, source: String? = nil) {
        self.name = name
        self.shape = shape
        self.from = from
        self.source = source
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case name, shape, from, source }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, owner: "a model input")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        shape = try c.decodeIfPresent([Int].self, forKey: .shape)
        from = try c.decodeIfPresent(GraphInputSource.self, forKey: .from) ?? .features
        source = try c.decodeIfPresent(String.self, forKey: .source)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(shape, forKey: .shape)
        if from != .features { try c.encode(from, forKey: .from) }
        try c.encodeIfPresent(source, forKey: .source)
    }

    /// Checks the shape against the source, under `path` (`model.inputs[1]`).
    func validate(path: String) throws {
        if let shape, shape.isEmpty || shape.contains(where: { $0 < 1 }) {
            throw ConfigError(path: "\(path).shape", "expected a list of positive sizes, got \(shape)")
        }
        if from == .labels, shape?.count != 1 {
            throw ConfigError(path: "\(path).shape", "an input from labels is a one-hot row: expected [number of classes]")
        }
        if source != nil {
            guard from == .features else { throw ConfigError(path: "\(path).source", "an input from labels reads no file") }
            guard shape != nil else { throw ConfigError(path: "\(path).shape", "an input from a file of its own needs a shape: its columns") }
        }
    }
}

/// What a graph input reads: `features` (its columns of the feature row) or `labels` (the
/// batch's class label, one-hot).
public enum GraphInputSource: String, Codable, Sendable, CaseIterable, ConfigChoice {
    case features, labels
}

/// One node: merges its `inputs` with `op` when there are several, then applies its own
/// `layers` or the layers of the node it `shares` (the same parameters). Two inputs and no
/// `op`: the layers run on the first and their `transformer_decoder`s attend to the second.
///
/// ```yaml
/// - {name: both, inputs: [left, right], op: concatenate, layers: [{type: dense, units: 16}]}
/// - {name: right_code, inputs: [right], shares: left_code}
/// - {name: decoder, inputs: [target_in, encoder], layers: [{type: transformer_decoder, heads: 4}]}
/// ```
public struct GraphNodeConfig: Codable, Sendable, Equatable {
    public var name: String
    public var inputs: [String]
    public var op: MergeOp?
    public var layers: [LayerConfig]?
    public var shares: String?

    public init(name: String, inputs: [String], op: MergeOp? = nil, layers: [LayerConfig]? = nil, shares: String? = nil) {
        self.name = name
        self.inputs = inputs
        self.op = op
        self.layers = layers
        self.shares = shares
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case name, inputs, op, layers, shares }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, owner: "a model node")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        inputs = try c.decode([String].self, forKey: .inputs)
        op = try c.decodeIfPresent(MergeOp.self, forKey: .op)
        layers = try c.decodeIfPresent([LayerConfig].self, forKey: .layers)
        shares = try c.decodeIfPresent(String.self, forKey: .shares)
    }

    func validate(path: String, known: [String], earlier: [GraphNodeConfig]) throws {
        try ModelGraphConfig.checkName(name, known: known, path: "\(path).name")
        guard !inputs.isEmpty else { throw ConfigError(path: "\(path).inputs", "expected at least one input") }
        for (index, input) in inputs.enumerated() where !known.contains(input) {
            throw ConfigError(path: "\(path).inputs[\(index)]",
                              "unknown value '\(input)' (expected an input or an earlier node: \(known.joined(separator: ", ")))")
        }
        // Two inputs without an op: the layers attend to the second (a transformer_decoder's
        // memory); building checks that one does.
        if inputs.count > 2 || (inputs.count == 2 && layers == nil && shares == nil), op == nil {
            throw ConfigError(path: "\(path).op", "a node with several inputs merges them: expected one of \(MergeOp.allowedValues.joined(separator: ", "))")
        }
        if inputs.count == 1, op != nil { throw ConfigError(path: "\(path).op", "a node with one input has nothing to merge") }
        if let layers, layers.isEmpty { throw ConfigError(path: "\(path).layers", "expected at least one layer") }
        if layers != nil, shares != nil {
            throw ConfigError(path: "\(path).shares", "a node either has its own layers or shares another node's, not both")
        }
        if let shares {
            guard let owner = earlier.first(where: { $0.name == shares }), owner.layers != nil else {
                let owners = earlier.filter { $0.layers != nil }.map(\.name)
                throw ConfigError(path: "\(path).shares", "unknown value '\(shares)' (expected an earlier node with layers: \(owners.joined(separator: ", ")))")
            }
        }
        if layers == nil, shares == nil, op == nil {
            throw ConfigError(path: path, "a node needs layers, shares or an op with several inputs")
        }
    }
}
