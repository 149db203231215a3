import FlockTensor

extension Activation {
    /// Parses an optional config name, naming the field at `path` when it is unknown.
    public static func decode(_ name: String?, path: String) throws -> Activation? {
        guard let name else { return nil }
        guard let kind = Activation(rawValue: name) else {
            throw ConfigError(path: path, "unknown activation '\(name)' (expected one of: \(allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return kind
    }
}
