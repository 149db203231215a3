import Foundation

/// One term of a config's `loss:`: a loss kind, its weight in the sum, and what it reads
/// (`{name: mse, target: features, weight: 0.5}`: a reconstruction of the model's input).
/// Written alone it is the whole loss (`loss: {name: cross_entropy}` or `loss: focal`).
public struct LossTermConfig: Codable, Sendable, Equatable {
    public var kind: any LossKind
    /// The term's weight in the sum (default 1).
    public var weight: Double
    /// What the model's output is compared with (default the batch's targets).
    public var target: LossTarget
    /// The model output the term reads. A layer list has one, `output`; graphs name theirs.
    public var output: String

    /// Keys every term may hold besides its kind's own fields.
    public static let sharedKeys: Set<String> = Set(CodingKeys.allCases.map(\.rawValue))
    /// The one output of a layer-list model.
    public static let modelOutput = "output"

    public init(_ kind: any LossKind, weight: Double = 1, target: LossTarget = .targets, output: String = modelOutput) {
        self.kind = kind
        self.weight = weight
        self.target = target
        self.output = output
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case name, weight, target, output }

    /// `{name: focal, gamma: 3, weight: 0.5}`, or the shorthand `focal`.
    public init(from decoder: any Decoder) throws {
        let registry = decoder.userInfo[.lossRegistry] as? LossRegistry ?? .standard
        if let shorthand = try? decoder.singleValueContainer().decode(String.self) {
            self.init(try Self.kind(named: shorthand, in: registry, path: ConfigError.render(decoder.codingPath)).init())
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let name = try c.value(.name, or: CrossEntropyLoss.typeName)
        let kind = try Self.kind(named: name, in: registry, path: decoder.fieldPath(CodingKeys.name))
        self.init(try kind.init(from: decoder), weight: try c.value(.weight, or: 1), target: try c.value(.target, or: .targets),
                  output: try c.value(.output, or: Self.modelOutput))
    }

    private static func kind(named name: String, in registry: LossRegistry, path: String) throws -> any LossKind.Type {
        guard let kind = registry.kind(named: name) else {
            throw ConfigError(path: path.isEmpty ? "name" : path,
                              "unknown loss '\(name)' (expected one of: \(registry.names.joined(separator: ", ")))")
        }
        return kind
    }

    /// The name, the kind's fields, then weight, target and output where not the defaults.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind.name, forKey: .name)
        try kind.encode(to: encoder)
        if weight != 1 { try c.encode(weight, forKey: .weight) }
        if target != .targets { try c.encode(target, forKey: .target) }
        if output != Self.modelOutput { try c.encode(output, forKey: .output) }
    }

    /// Checks the weight, the output and target names (against a model's `outputs` and
    /// `inputs`; a layer list's by default) and the kind's fields, naming them under `path`.
    public func validate(path: String, outputs: [String] = [modelOutput], inputs: [String] = [LossTarget.features.rawValue]) throws {
        try Check.positive(weight, atMost: 1e6, "\(path).weight")
        guard outputs.contains(output) else {
            throw ConfigError(path: "\(path).output", "unknown output '\(output)' (expected one of: \(outputs.joined(separator: ", ")))")
        }
        guard target == .targets || target.constant != nil || inputs.contains(target.rawValue) else {
            throw ConfigError(path: "\(path).target", "unknown value '\(target.rawValue)' (expected a number or one of: \(([LossTarget.targets.rawValue] + inputs).joined(separator: ", ")))")
        }
        try kind.validate(path: path)
    }

    /// The term as the loss computes it.
    public var term: Loss.Term { Loss.Term(kind, weight: Float(weight), target: target, output: output) }

    public static func == (lhs: LossTermConfig, rhs: LossTermConfig) -> Bool {
        lhs.weight == rhs.weight && lhs.target == rhs.target && lhs.output == rhs.output && lhs.kind.isEqual(to: rhs.kind)
    }
}

/// What a loss term compares the model's output with: `targets` (the batch's labels or
/// regression values), `features` (the whole feature row: a reconstruction), a graph's
/// named input (`image`) or a number (`1`: every element of the output is compared with
/// it, a GAN's real or fake label). Which names a model offers is checked against the model
/// (`LossConfig.makeLoss(path:outputs:inputs:)`).
public struct LossTarget: Codable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// The batch's targets (labels, regression values).
    public static let targets = LossTarget(rawValue: "targets")
    /// The batch's (normalized) features: a reconstruction of the model's input.
    public static let features = LossTarget(rawValue: "features")
    /// A graph's named input (its columns of the normalized feature row).
    public static func input(_ name: String) -> LossTarget { LossTarget(rawValue: name) }
    /// Whether the target is the features or a named input (neither the labels nor a constant).
    public var isInput: Bool { self != .targets && constant == nil }

    /// Every element compared with `value` (`target: 1`).
    public static func constant(_ value: Float) -> LossTarget { LossTarget(rawValue: "\(value)") }

    /// The number a constant target compares with; nil for the batch's data.
    public var constant: Float? { Float(rawValue).flatMap { $0.isFinite ? $0 : nil } }

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard !text.isEmpty else {
            throw ConfigError(path: ConfigError.render(decoder.codingPath), "expected targets, features or a model input's name")
        }
        self.init(rawValue: text)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
