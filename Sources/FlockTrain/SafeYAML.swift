import FlockNN
import Yams

/// YAML parsing that cannot trap: Yams' untyped `load` force-unwraps every mapping key
/// as a string, so a key that is itself a list or a mapping (`[a, b]: 1`, `? {x: 1}`)
/// would crash the process. Such keys are rejected first, with the key's path.
public enum SafeYAML {
    /// `Yams.load(yaml:)` after checking that every mapping key is a scalar.
    public static func load(_ text: String) throws -> Any? {
        guard let node = try Yams.compose(yaml: text) else { return nil }
        try checkKeys(node)
        return try Yams.load(yaml: text)
    }

    /// Throws a `ConfigError` at the first mapping key that is not a scalar.
    public static func checkKeys(_ node: Node, path: String = "") throws {
        switch node {
        case let .mapping(mapping):
            for (key, value) in mapping {
                guard let name = key.scalar?.string else {
                    throw ConfigError(path: path, "a mapping key must be a plain name, not a list or mapping")
                }
                try checkKeys(value, path: path.isEmpty ? name : "\(path).\(name)")
            }
        case let .sequence(sequence):
            for (index, element) in sequence.enumerated() { try checkKeys(element, path: "\(path)[\(index)]") }
        default:
            return
        }
    }
}
