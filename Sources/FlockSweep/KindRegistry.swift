import FlockNN

/// Kinds that a sweep file picks by name (`sampler: {name: tpe}`), each under one name, in
/// registration order (the order errors list them in). `SamplerRegistry` and
/// `PrunerRegistry` are this registry over their spec types; a program adds its own kinds
/// with `register` and hands the registry to `SweepConfig.load` or `parse`.
public struct KindRegistry<Kind: Sendable>: Sendable {
    /// Registered kinds in registration order.
    public private(set) var kinds: [Kind]
    /// A kind's `name:` in sweep files (its spec type's `typeName`).
    private let nameOf: @Sendable (Kind) -> String

    init(_ kinds: [Kind], nameOf: @escaping @Sendable (Kind) -> String) {
        self.kinds = []
        self.nameOf = nameOf
        for kind in kinds { register(kind) }
    }

    /// The registered names, in registration order.
    public var names: [String] { kinds.map(nameOf) }

    /// Adds a kind; a kind with the same name is replaced.
    public mutating func register(_ kind: Kind) {
        let name = nameOf(kind)
        kinds.removeAll { nameOf($0) == name }
        kinds.append(kind)
    }

    public func kind(named name: String) -> Kind? {
        kinds.first { nameOf($0) == name }
    }

    /// The kind named by the `name:` of the mapping `decoder` reads (`fallback` when it has
    /// none), or an error at that field listing the registered names:
    /// `sampler.name: unknown value 'bayes' (expected one of: grid, random, tpe, gp, auto)`.
    func kind(namedIn decoder: any Decoder, default fallback: String) throws -> Kind {
        let name = try decoder.container(keyedBy: NameKey.self).decodeIfPresent(String.self, forKey: .name) ?? fallback
        guard let kind = kind(named: name) else {
            throw ConfigError(path: decoder.fieldPath(NameKey.name),
                              "unknown value '\(name)' (expected one of: \(names.joined(separator: ", ")))")
        }
        return kind
    }

    private enum NameKey: String, CodingKey { case name }
}

extension Decoder {
    /// The fields of a sampler's or pruner's mapping, after rejecting every key but `name`
    /// and `Keys` so that a field of another kind names itself:
    /// `pruner.reduction_factor: not a field of pruner 'median' (expected one of: name, startup_trials, warmup_steps)`.
    /// `owner` is what the error calls the kind (`pruner 'median'`).
    public func fields<Keys: CodingKey & CaseIterable>(_: Keys.Type, of owner: String) throws -> KeyedDecodingContainer<Keys> {
        try rejectUnknownKeys(allowed: ["name"] + Keys.allCases.map(\.stringValue), owner: owner)
        return try container(keyedBy: Keys.self)
    }

    /// For a kind with no fields: rejects every key but `name`.
    public func rejectFields(of owner: String) throws {
        try rejectUnknownKeys(allowed: ["name"], owner: owner)
    }
}
