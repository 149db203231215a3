/// One entry of `model:`, e.g. `{type: dense, units: 128, activation: relu}`.
public struct LayerConfig: Codable, Equatable, Sendable {
    public static let types = ["dense", "dropout", "flatten", "activation"]

    public var type: String
    public var units: Int?
    public var activation: String?
    /// LeakyReLU slope / ELU scale.
    public var alpha: Double?
    /// Dropout rate.
    public var rate: Double?
    public var useBias: Bool?
    public var initializer: String?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case type, units, activation, alpha, rate, initializer
        case useBias = "use_bias"
    }

    public init(type: String, units: Int? = nil, activation: String? = nil, rate: Double? = nil) {
        self.type = type
        self.units = units
        self.activation = activation
        self.rate = rate
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(String.self, forKey: .type)
        units = try c.decodeIfPresent(Int.self, forKey: .units)
        activation = try c.decodeIfPresent(String.self, forKey: .activation)
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha)
        rate = try c.decodeIfPresent(Double.self, forKey: .rate)
        useBias = try c.decodeIfPresent(Bool.self, forKey: .useBias)
        initializer = try c.decodeIfPresent(String.self, forKey: .initializer)
    }

    /// The layer this entry describes, or an error naming the field at `path`.
    public func spec(path: String) throws -> LayerSpec {
        try Check.oneOf(type, Self.types, "\(path).type", what: "layer type")
        let activationKind = try activation.map { name -> Activation in
            guard let kind = Activation(rawValue: name) else {
                throw ConfigError(path: "\(path).activation",
                                  "unknown activation '\(name)' (expected one of: \(Activation.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return kind
        }
        if let alpha { try Check.nonNegative(alpha, "\(path).alpha") }
        let unexpected: [(String, Bool)] = [("units", units != nil), ("rate", rate != nil),
                                            ("use_bias", useBias != nil), ("initializer", initializer != nil)]
        func rejectFields(except allowed: Set<String>) throws {
            if let field = unexpected.first(where: { $0.1 && !allowed.contains($0.0) }) {
                throw ConfigError(path: "\(path).\(field.0)", "not a field of a \(type) layer")
            }
        }
        switch type {
        case "dense":
            try rejectFields(except: ["units", "use_bias", "initializer"])
            guard let units else { throw ConfigError(path: "\(path).units", "a dense layer needs units") }
            try Check.positive(units, "\(path).units")
            let initial = try initializer.map { name -> Initializer in
                guard let value = Initializer(name: name) else {
                    throw ConfigError(path: "\(path).initializer",
                                      "unknown initializer '\(name)' (expected one of: \(Initializer.names.joined(separator: ", ")))")
                }
                return value
            }
            return .dense(units: units, activation: activationKind ?? .linear, alpha: alpha.map(Float.init),
                          useBias: useBias ?? true, initializer: initial)
        case "dropout":
            try rejectFields(except: ["rate"])
            guard let rate else { throw ConfigError(path: "\(path).rate", "a dropout layer needs rate") }
            try Check.inRange(rate, 0, 1, "\(path).rate")
            return .dropout(rate: Float(rate))
        case "flatten":
            try rejectFields(except: [])
            return .flatten
        default:
            try rejectFields(except: [])
            guard let activationKind else { throw ConfigError(path: "\(path).activation", "an activation layer needs activation") }
            return .activation(activationKind, alpha: alpha.map(Float.init))
        }
    }
}
