import FlockNN

/// `loss: cross_entropy` or `loss: {name: cross_entropy, label_smoothing: 0.1}`.
public struct LossConfig: Codable, Equatable, Sendable {
    public static let names = ["cross_entropy", "binary_cross_entropy", "mse", "mae", "huber", "focal", "distillation"]

    public var name: String
    /// Cross-entropy: ε in [0, 1).
    public var labelSmoothing: Double?
    /// Cross-entropy: one weight per class.
    public var classWeights: [Double]?
    /// Huber: the threshold δ.
    public var delta: Double?
    /// Binary cross-entropy: whether the model outputs logits (default) or probabilities.
    public var fromLogits: Bool?
    /// Focal: the focusing exponent γ (default 2).
    public var gamma: Double?
    /// Distillation: the teacher's checkpoint (a run directory or checkpoint folder,
    /// relative to the config file), its softening temperature T (default 4), and α, the
    /// weight of the teacher's term against the labels' cross-entropy (default 0.9).
    public var teacher: String?
    public var temperature: Double?
    public var alpha: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, delta
        case labelSmoothing = "label_smoothing"
        case classWeights = "class_weights"
        case fromLogits = "from_logits"
        case gamma, teacher, temperature, alpha
    }

    public init(name: String = "cross_entropy") {
        self.name = name
    }

    public init(from decoder: any Decoder) throws {
        if let shorthand = try? decoder.singleValueContainer().decode(String.self) {
            self.init(name: shorthand)
            return
        }
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.value(.name, or: "cross_entropy"))
        labelSmoothing = try c.decodeIfPresent(Double.self, forKey: .labelSmoothing)
        classWeights = try c.decodeIfPresent([Double].self, forKey: .classWeights)
        delta = try c.decodeIfPresent(Double.self, forKey: .delta)
        fromLogits = try c.decodeIfPresent(Bool.self, forKey: .fromLogits)
        gamma = try c.decodeIfPresent(Double.self, forKey: .gamma)
        teacher = try c.decodeIfPresent(String.self, forKey: .teacher)
        temperature = try c.decodeIfPresent(Double.self, forKey: .temperature)
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha)
    }

    public var isClassification: Bool { ["cross_entropy", "binary_cross_entropy", "focal", "distillation"].contains(name) }

    public func makeLoss(path: String) throws -> Loss {
        try Check.oneOf(name, Self.names, "\(path).name", what: "loss")
        func reject(_ present: Bool, _ field: String) throws {
            if present { throw ConfigError(path: "\(path).\(field)", "not a field of loss '\(name)'") }
        }
        if name != "cross_entropy" {
            try reject(labelSmoothing != nil, "label_smoothing")
            try reject(classWeights != nil, "class_weights")
        }
        if name != "huber" { try reject(delta != nil, "delta") }
        if name != "binary_cross_entropy" { try reject(fromLogits != nil, "from_logits") }
        if name != "focal" { try reject(gamma != nil, "gamma") }
        if name != "distillation" {
            try reject(teacher != nil, "teacher")
            try reject(temperature != nil, "temperature")
            try reject(alpha != nil, "alpha")
        }
        switch name {
        case "focal":
            let gamma = self.gamma ?? 2
            try Check.inRange(gamma, 0, 100, "\(path).gamma")
            return .focal(gamma: Float(gamma))
        case "distillation":
            guard let teacher, !teacher.isEmpty else {
                throw ConfigError(path: "\(path).teacher", "distillation needs the teacher's checkpoint (a run directory or checkpoint folder)")
            }
            let temperature = self.temperature ?? 4, alpha = self.alpha ?? 0.9
            try Check.positive(temperature, atMost: 1000, "\(path).temperature")
            guard alpha >= 0, alpha <= 1 else { throw ConfigError(path: "\(path).alpha", "expected a number in [0, 1], got \(alpha)") }
            return .distillation(temperature: Float(temperature), alpha: Float(alpha))
        case "cross_entropy":
            let smoothing = labelSmoothing ?? 0
            try Check.inRange(smoothing, 0, 1, "\(path).label_smoothing")
            for (index, weight) in (classWeights ?? []).enumerated() {
                try Check.nonNegative(weight, "\(path).class_weights[\(index)]")
            }
            return .crossEntropy(labelSmoothing: Float(smoothing), classWeights: classWeights?.map(Float.init))
        case "binary_cross_entropy": return .binaryCrossEntropy(fromLogits: fromLogits ?? true)
        case "mse": return .meanSquaredError
        case "mae": return .meanAbsoluteError
        default:
            let threshold = delta ?? 1
            try Check.positive(threshold, "\(path).delta")
            return .huber(delta: Float(threshold))
        }
    }
}
