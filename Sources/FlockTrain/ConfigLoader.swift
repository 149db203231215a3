import FlockNN
import Foundation
import Yams

/// Reads a YAML training config, applies `--set key.path=value` overrides, decodes,
/// validates, and makes data paths absolute (relative ones are taken from the config
/// file's folder).
public enum ConfigLoader {
    /// `kinds` decodes `model:`, `loss:`, … (add your own kinds to it).
    public static func load(path: String, overrides: [String] = [], kinds: ConfigKinds = .standard) throws -> TrainingConfig {
        guard FileManager.default.fileExists(atPath: path) else {
            throw ConfigError(path: "", "\(path): config file not found")
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigError(path: "", "\(path): cannot read: \(error.localizedDescription)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try decode(yaml: text, overrides: overrides, baseDirectory: folder, fileName: path, kinds: kinds)
    }

    public static func decode(yaml: String, overrides: [String] = [], baseDirectory: String,
                              fileName: String = "config", kinds: ConfigKinds = .standard) throws -> TrainingConfig {
        var node = try parse(yaml, fileName: fileName)
        for override in overrides { node = try apply(override: override, to: node) }
        return try resolved(decode(TrainingConfig.self, from: node, fileName: fileName, kinds: kinds), baseDirectory: baseDirectory)
    }

    /// Decodes any config type (a sweep file, say) from YAML with the checks a training
    /// config gets: a mapping at the top level, no key that is a list, and errors by field
    /// path. `kinds` decodes any `model:`, `loss:`, `optimizer:` or `schedule:` inside it;
    /// `userInfo` carries what else `T`'s decoding reads (the sweep file's sampler and
    /// pruner registries), since this module cannot name those.
    public static func decode<T: Decodable>(_ type: T.Type, yaml: String, fileName: String, kinds: ConfigKinds = .standard,
                                            userInfo: [CodingUserInfoKey: any Sendable] = [:]) throws -> T {
        try decode(type, from: try parse(yaml, fileName: fileName), fileName: fileName, kinds: kinds, userInfo: userInfo)
    }

    private static func decode<T: Decodable>(_ type: T.Type, from node: Node, fileName: String, kinds: ConfigKinds,
                                             userInfo: [CodingUserInfoKey: any Sendable] = [:]) throws -> T {
        do {
            return try YAMLDecoder().decode(T.self, from: node, userInfo: kinds.userInfo.merging(userInfo) { ours, _ in ours })
        } catch let error as ConfigError {
            throw error
        } catch let error as DecodingError {
            throw withFoundValue(ConfigError.from(error), error, in: node)
        } catch {
            throw ConfigError(path: "", "\(fileName): \(error)")
        }
    }

    /// A type mismatch with the scalar the YAML holds there: `workers: expected an
    /// integer, got two` (Yams' error does not carry the value).
    static func withFoundValue(_ error: ConfigError, _ decoding: DecodingError, in root: Node) -> ConfigError {
        guard case let .typeMismatch(_, context) = decoding else { return error }
        let found = context.codingPath.reduce(root as Node?) { node, key in
            guard let index = key.intValue else { return node?.mapping?[Node(key.stringValue)] }
            guard let items = node?.sequence.map(Array.init), index < items.count else { return nil }
            return items[index]
        }
        guard let text = found?.scalar?.string else { return error }
        return ConfigError(path: error.path, "\(error.message), got \(text)")
    }

    /// `config` validated, with its data, teacher and init-from paths made absolute
    /// (relative ones are taken from `baseDirectory`).
    public static func resolved(_ decoded: TrainingConfig, baseDirectory: String) throws -> TrainingConfig {
        var config = decoded
        try config.validate()
        config.data.source = absolute(config.data.source, from: baseDirectory)
        config.data.labels = config.data.labels.map { absolute($0, from: baseDirectory) }
        if let from = config.initFrom?.checkpoint { config.initFrom?.checkpoint = absolute(from, from: baseDirectory) }
        config.loss.teacher = config.loss.teacher.map { absolute($0, from: baseDirectory) }
        if var graph = config.graph {
            for index in graph.inputs.indices { graph.inputs[index].source = graph.inputs[index].source.map { absolute($0, from: baseDirectory) } }
            config.graph = graph
        }
        return config
    }

    /// The config as YAML, every default written out (what `config.yaml` in a run holds).
    public static func yaml(of config: TrainingConfig) throws -> String {
        let text = try YAMLEncoder().encode(config)
        // Yams writes a double to 15 significant digits (0.6524384800808056 as
        // 0.652438480080806); JSONEncoder's text of the same config has each one exactly
        // (read as YAML, since JSONSerialization reads some a few ulps off on Linux).
        guard let json = try? JSONEncoder().encode(config), let exact = try? Yams.compose(yaml: String(decoding: json, as: UTF8.self)),
              let node = try Yams.compose(yaml: text) else {
            return readableNumbers(text)
        }
        return try Yams.serialize(node: exactNumbers(node, exact))
    }

    /// `node` with each float scalar written as Swift prints the double at the same place
    /// in `exact` (shortest text that reads back as the same double: `0.2`, `1e-05`).
    private static func exactNumbers(_ node: Node, _ exact: Node?) -> Node {
        switch node {
        case var .scalar(scalar):
            guard node.int == nil, node.float?.isFinite == true, let value = exact?.scalar.flatMap({ Double($0.string) }) else { return node }
            scalar.string = "\(value)"
            return .scalar(scalar)
        case let .mapping(mapping):
            let pairs = mapping.map { ($0.key, exactNumbers($0.value, $0.key.string.flatMap { exact?.mapping?[$0] })) }
            return .mapping(Node.Mapping(pairs, mapping.tag, mapping.style))
        case let .sequence(sequence):
            let items = sequence.enumerated().map { index, item in
                exactNumbers(item, exact?.sequence.flatMap { $0.indices.contains(index) ? $0[index] : nil })
            }
            return .sequence(Node.Sequence(items, sequence.tag, sequence.style))
        case .alias:
            return node
        }
    }

    /// Yams writes every float in exponent form (`0.2` as `2e-1`); rewrite such plain
    /// scalars the way Swift prints them (`0.2`, `0.0001`, `1e-05`), which YAML reads back
    /// as the same float.
    static func readableNumbers(_ yaml: String) -> String {
        yaml.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let text = String(line)
            guard let separator = text.range(of: ": ", options: .backwards) ?? text.range(of: "- ", options: .backwards) else { return text }
            let value = text[separator.upperBound...]
            guard value.contains("e"), let number = Double(value), number.isFinite else { return text }
            return text[..<separator.upperBound] + "\(number)"
        }.joined(separator: "\n")
    }

    static func parse(_ yaml: String, fileName: String) throws -> Node {
        do {
            guard let node = try Yams.compose(yaml: yaml), node.mapping != nil else {
                throw ConfigError(path: "", "\(fileName): expected a YAML mapping at the top level")
            }
            try SafeYAML.checkKeys(node)
            return node
        } catch let error as ConfigError {
            throw error
        } catch {
            throw ConfigError(path: "", "\(fileName): invalid YAML: \(error)")
        }
    }

    // MARK: Overrides

    private enum PathStep: CustomStringConvertible {
        case key(String)
        case index(Int)
        var description: String {
            switch self {
            case let .key(key): return key
            case let .index(index): return "[\(index)]"
            }
        }
    }

    /// Applies one `key.path[i].field=value`; `value` is read as YAML (`0.01`, `relu`, `[64, 32]`).
    static func apply(override: String, to root: Node) throws -> Node {
        guard let equals = override.firstIndex(of: "=") else {
            throw ConfigError(path: "", "--set \(override): expected key.path=value")
        }
        let pathText = String(override[..<equals]).trimmingCharacters(in: .whitespaces)
        let valueText = String(override[override.index(after: equals)...])
        let steps = try parsePath(pathText, override: override)
        let value: Node
        do { value = try Yams.compose(yaml: valueText) ?? Node("") } catch {
            throw ConfigError(path: pathText, "--set value '\(valueText)' is not valid YAML")
        }
        return try set(value, at: steps[...], in: root, pathText: pathText)
    }

    /// `root` with `value` at `pathText` (`[2].block[0].units`, relative to `root`).
    static func set(_ value: Node, atPath pathText: String, in root: Node) throws -> Node {
        try set(value, at: parsePath(pathText, override: pathText)[...], in: root, pathText: pathText)
    }

    /// The value at `pathText` in `root`, nil when any step is missing.
    static func value(atPath pathText: String, in root: Node) throws -> Node? {
        try parsePath(pathText, override: pathText).reduce(Optional(root)) { node, step in
            switch step {
            case let .key(key): return node?.mapping?[Node(key)]
            case let .index(index): return node?.sequence.flatMap { index < $0.count ? $0[index] : nil }
            }
        }
    }

    private static func parsePath(_ text: String, override: String) throws -> [PathStep] {
        var steps: [PathStep] = []
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            var rest = Substring(part)
            let keyEnd = rest.firstIndex(of: "[") ?? rest.endIndex
            let key = rest[..<keyEnd]
            guard !key.isEmpty else { throw ConfigError(path: text, "--set \(override): empty key in path") }
            steps.append(.key(String(key)))
            rest = rest[keyEnd...]
            while rest.first == "[" {
                guard let close = rest.firstIndex(of: "]"), let index = Int(rest[rest.index(after: rest.startIndex)..<close]), index >= 0 else {
                    throw ConfigError(path: text, "--set \(override): expected [index] with a non-negative integer")
                }
                steps.append(.index(index))
                rest = rest[rest.index(after: close)...]
            }
            guard rest.isEmpty else { throw ConfigError(path: text, "--set \(override): cannot parse '\(rest)'") }
        }
        return steps
    }

    private static func set(_ value: Node, at steps: ArraySlice<PathStep>, in node: Node?, pathText: String) throws -> Node {
        guard let step = steps.first else { return value }
        let rest = steps.dropFirst()
        switch step {
        case let .key(key):
            var pairs: [(Node, Node)] = []
            if let node {
                guard let mapping = node.mapping else {
                    throw ConfigError(path: pathText, "--set: '\(key)' is a field of something that is not a mapping")
                }
                pairs = mapping.map { ($0.key, $0.value) }
            }
            if let position = pairs.firstIndex(where: { $0.0.string == key }) {
                pairs[position].1 = try set(value, at: rest, in: pairs[position].1, pathText: pathText)
            } else {
                pairs.append((Node(key), try set(value, at: rest, in: nil, pathText: pathText)))
            }
            return Node(pairs)
        case let .index(index):
            guard let sequence = node?.sequence else {
                throw ConfigError(path: pathText, "--set: [\(index)] indexes something that is not a list")
            }
            var items = Array(sequence)
            guard index < items.count else {
                throw ConfigError(path: pathText, "--set: index \(index) is past the end of a list of \(items.count)")
            }
            items[index] = try set(value, at: rest, in: items[index], pathText: pathText)
            return Node(items)
        }
    }

    private static func absolute(_ path: String, from folder: String) -> String {
        path.hasPrefix("/") ? path : URL(fileURLWithPath: folder).appendingPathComponent(path).standardizedFileURL.path
    }
}
