import FlockNN

/// `optimizer: {name: adam, lr: 0.001, beta2: 0.98}`: the fields every kind shares
/// (`name`, `lr`, `weight_decay`) and a registered `OptimizerKind` for the rest.
/// Defaults follow PyTorch.
public struct OptimizerConfig: Codable, Equatable, Sendable {
    public var kind: any OptimizerKind
    public var lr: Double
    /// nil: the kind's default (0, except adamw: 0.01).
    public var weightDecay: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, lr
        case weightDecay = "weight_decay"
    }

    public init(_ kind: any OptimizerKind = Adam.Spec(), lr: Double = 0.001) {
        self.kind = kind
        self.lr = lr
    }

    public var name: String { kind.name }

    public init(from decoder: any Decoder) throws {
        let registry = decoder.userInfo[.optimizerRegistry] as? OptimizerRegistry ?? .standard
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.value(.name, or: Adam.Spec.typeName)
        guard let kind = registry.kind(named: name) else {
            throw ConfigError(path: decoder.fieldPath(CodingKeys.name),
                              "unknown optimizer '\(name)' (expected one of: \(registry.names.joined(separator: ", ")))")
        }
        self.init(try kind.init(from: decoder), lr: try c.value(.lr, or: 0.001))
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(lr, forKey: .lr)
        try c.encodeIfPresent(weightDecay, forKey: .weightDecay)
        try kind.encode(to: encoder)
    }

    public func makeOptimizer(path: String) throws -> any Optimizer {
        // Checked as the Float each optimizer holds (see Check.inRange(float:)).
        try Check.positive(float: lr, "\(path).lr")
        let decay = weightDecay ?? type(of: kind).defaultWeightDecay
        try Check.nonNegative(float: decay, "\(path).weight_decay")
        try kind.validate(path: path)
        return kind.makeOptimizer(weightDecay: Float(decay))
    }

    public static func == (lhs: OptimizerConfig, rhs: OptimizerConfig) -> Bool {
        lhs.lr == rhs.lr && lhs.weightDecay == rhs.weightDecay && lhs.kind.isEqual(to: rhs.kind)
    }
}
