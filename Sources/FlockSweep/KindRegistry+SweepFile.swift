import FlockNN

/// Sweep files name a sampler or pruner by `name:`.
extension KindRegistry {
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
