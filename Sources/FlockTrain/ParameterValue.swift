/// A value set on one config field by its path (`TrainingConfig.set(_:to:)`): what a
/// sweep samples for each hyperparameter.
public enum ParameterValue: Codable, Sendable, Hashable, CustomStringConvertible {
    case double(Double)
    case int(Int)
    case string(String)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let int = try? c.decode(Int.self) { self = .int(int) }
        else if let double = try? c.decode(Double.self) { self = .double(double) }
        else { self = .string(try c.decode(String.self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .double(value): try c.encode(value)
        case let .int(value): try c.encode(value)
        case let .string(value): try c.encode(value)
        }
    }

    /// As text, e.g. for a `--set key=value` override (YAML reads it back as the same type).
    public var description: String {
        switch self {
        case let .double(value): return "\(value)"
        case let .int(value): return "\(value)"
        case let .string(value): return value
        }
    }

    public var doubleValue: Double? {
        switch self {
        case let .double(value): return value
        case let .int(value): return Double(value)
        case .string: return nil
        }
    }
}
