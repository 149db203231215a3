/// A configuration problem, naming the field path (`model[2].units`) and what was expected.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    /// Dotted path with indices, e.g. `optimizer.lr` or `model[2].units`; empty for the whole file.
    public let path: String
    public let message: String
    /// Whether the error is a key the mapping's kind does not have (`rejectUnknownKeys`):
    /// what a change of kind drops rather than refuses.
    public internal(set) var isUnknownField = false

    public init(path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public init(codingPath: [any CodingKey], _ message: String) {
        self.init(path: ConfigError.render(codingPath), message)
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }

    /// The same error with its path put under `parent`: `units` under `model[2]` is
    /// `model[2].units`, `[1].rate` under `model` is `model[1].rate`.
    public func nested(under parent: String) -> ConfigError {
        guard !parent.isEmpty else { return self }
        let joined = path.isEmpty ? parent : path.hasPrefix("[") ? parent + path : "\(parent).\(path)"
        var nested = ConfigError(path: joined, message)
        nested.isUnknownField = isUnknownField
        return nested
    }

    /// `[data, source]` → `data.source`; integer keys become `[i]`.
    public static func render(_ codingPath: [any CodingKey]) -> String {
        var text = ""
        for key in codingPath {
            if let index = key.intValue { text += "[\(index)]" } else {
                text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return text
    }

    /// Translates Swift's `DecodingError` into the path-and-expectation form users read.
    public static func from(_ error: DecodingError) -> ConfigError {
        switch error {
        case let .typeMismatch(type, context):
            return ConfigError(codingPath: context.codingPath, "expected \(describe(type))")
        case let .valueNotFound(type, context):
            return ConfigError(codingPath: context.codingPath, "expected \(describe(type)), found nothing")
        case let .keyNotFound(key, context):
            return ConfigError(codingPath: context.codingPath + [key], "required field is missing")
        case let .dataCorrupted(context):
            return ConfigError(codingPath: context.codingPath, context.debugDescription)
        @unknown default:
            return ConfigError(path: "", "\(error)")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type: return "an integer"
        case is Float.Type, is Double.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default:
            let name = "\(type)"
            if name.hasSuffix("Scalar") { return "a single value, not a list or mapping" }
            if name.hasPrefix("Array") { return "a list" }
            // Yams names a YAML mapping `Mapping`.
            if name.hasPrefix("Dictionary") || name == "Mapping" { return "a mapping" }
            return "a mapping (\(name))"
        }
    }
}

/// Any string or integer key, for reading keys a struct does not know.
public struct AnyCodingKey: CodingKey {
    public let stringValue: String
    public let intValue: Int?
    public init(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    public init(intValue: Int) { stringValue = "\(intValue)"; self.intValue = intValue }
}

extension Decoder {
    /// Rejects keys not in `Keys` (nor in `alsoAllowed`) — a typo such as `epoch:` for
    /// `epochs:` is an error, not a silently ignored field.
    /// `owner` names what the fields belong to (`a dense layer`) in the error.
    public func rejectUnknownKeys<Keys: CodingKey & CaseIterable>(_: Keys.Type, alsoAllowed: Set<String> = [],
                                                                  owner: String? = nil) throws {
        try rejectUnknownKeys(allowed: Keys.allCases.map(\.stringValue), alsoAllowed: alsoAllowed, owner: owner)
    }

    /// Rejects keys not in `allowed` (listed in the error) nor in `alsoAllowed`.
    public func rejectUnknownKeys(allowed: [String], alsoAllowed: Set<String> = [], owner: String? = nil) throws {
        let known = Set(allowed).union(alsoAllowed)
        let container = try self.container(keyedBy: AnyCodingKey.self)
        for key in container.allKeys where !known.contains(key.stringValue) {
            let expected = allowed.isEmpty ? "no fields" : "expected one of: \(allowed.joined(separator: ", "))"
            let what = owner.map { "not a field of \($0)" } ?? "unknown field"
            var error = ConfigError(codingPath: codingPath + [key], "\(what) (\(expected))")
            error.isUnknownField = true
            throw error
        }
    }
}

extension Decoder {
    /// The config field path of `key` in the value being decoded, e.g. `model[2].units`.
    public func fieldPath(_ key: some CodingKey) -> String {
        ConfigError.render(codingPath + [key])
    }
}

extension KeyedDecodingContainer {
    /// The value at `key`, or `fallback` when the key is absent.
    public func value<T: Decodable>(_ key: Key, or fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}

/// Field checks with messages in one voice: `expected a positive integer, got -3`.
public enum Check {
    public static func positive(_ value: Int, _ path: String) throws {
        guard value > 0 else { throw ConfigError(path: path, "expected a positive integer, got \(value)") }
    }

    public static func positive(_ value: Double, _ path: String) throws {
        guard value > 0, value.isFinite else { throw ConfigError(path: path, "expected a positive number, got \(value)") }
    }

    public static func nonNegative(_ value: Double, _ path: String) throws {
        guard value >= 0, value.isFinite else { throw ConfigError(path: path, "expected a number ≥ 0, got \(value)") }
    }

    public static func nonNegative(_ value: Int, _ path: String) throws {
        guard value >= 0 else { throw ConfigError(path: path, "expected an integer ≥ 0, got \(value)") }
    }

    /// `low ≤ value < high`.
    public static func inRange(_ value: Double, _ low: Double, _ high: Double, _ path: String) throws {
        guard value >= low, value < high else {
            throw ConfigError(path: path, "expected a number in [\(low), \(high)), got \(value)")
        }
    }

    // MARK: Numbers used as 32-bit floats
    // A Double that passes a check can fail it once narrowed: 0.99999999999 is 1.0 as a
    // Float, 1e-50 is 0 and 1e39 is infinite. Fields the layers and optimizers hold as
    // Float are checked after narrowing too.

    /// `low ≤ value < high`, also as a 32-bit float.
    public static func inRange(float value: Double, _ low: Double, _ high: Double, _ path: String) throws {
        try inRange(value, low, high, path)
        let narrowed = Float(value)
        guard Double(narrowed) >= low, Double(narrowed) < high else {
            throw ConfigError(path: path, "expected a number in [\(low), \(high)), got \(value), which is \(narrowed) as a 32-bit float")
        }
    }

    /// Positive and finite, also as a 32-bit float.
    public static func positive(float value: Double, _ path: String) throws {
        try positive(value, path)
        let narrowed = Float(value)
        guard narrowed > 0, narrowed.isFinite else {
            throw ConfigError(path: path, "expected a positive number, got \(value), which is \(narrowed) as a 32-bit float")
        }
    }

    /// At least 0 and finite, also as a 32-bit float.
    public static func nonNegative(float value: Double, _ path: String) throws {
        try nonNegative(value, path)
        guard Float(value).isFinite else {
            throw ConfigError(path: path, "expected a number ≥ 0, got \(value), which is \(Float(value)) as a 32-bit float")
        }
    }

    /// `low ≤ value ≤ high` for an integer a user gives (counts, sizes): the bounds keep
    /// later arithmetic from overflowing.
    public static func within(_ value: Int, _ low: Int, _ high: Int, _ path: String) throws {
        guard value >= low, value <= high else {
            throw ConfigError(path: path, "expected an integer in \(low)...\(high), got \(value)")
        }
    }

    /// `0 < value ≤ high`, finite.
    public static func positive(_ value: Double, atMost high: Double, _ path: String) throws {
        guard value > 0, value <= high, value.isFinite else {
            throw ConfigError(path: path, "expected a number in (0, \(high)], got \(value)")
        }
    }

    public static func oneOf(_ value: String, _ allowed: [String], _ path: String, what: String = "value") throws {
        guard allowed.contains(value) else {
            throw ConfigError(path: path, "unknown \(what) '\(value)' (expected one of: \(allowed.joined(separator: ", ")))")
        }
    }
}
