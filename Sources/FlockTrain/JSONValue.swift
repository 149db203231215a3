import FlockStore
import Foundation

/// Any JSON value: how a checkpoint's `state.json` holds states whose types only their
/// owners know (each callback's).
///
/// Whole numbers keep their exact integer value (a UInt64 counter survives a checkpoint);
/// non-finite doubles are written as `FlockJSON` writes them ("NaN", "Infinity",
/// "-Infinity"); checkpoints from before it wrote "nan", "inf" and "-inf" (`legacyDecoder`).
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case integer(Int64)
    case unsigned(UInt64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Int64.self) { self = .integer(value) }
        else if let value = try? container.decode(UInt64.self) { self = .unsigned(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case let .bool(value): try container.encode(value)
        case let .integer(value): try container.encode(value)
        case let .unsigned(value): try container.encode(value)
        case let .number(value): try container.encode(value)
        case let .string(value): try container.encode(value)
        case let .array(value): try container.encode(value)
        case let .object(value): try container.encode(value)
        }
    }

    /// `value` as JSON (through its `Encodable` conformance).
    public init(encoding value: some Encodable) throws {
        self = try JSONValue.decoder.decode(JSONValue.self, from: JSONValue.encoder.encode(value))
    }

    /// This JSON as a `T`.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONValue.decoder.decode(T.self, from: JSONValue.encoder.encode(self))
    }

    /// An encoder that writes non-finite doubles as strings instead of failing.
    static var encoder: JSONEncoder { FlockJSON.encoder() }

    /// The decoder that reads them back.
    static var decoder: JSONDecoder { FlockJSON.decoder }

    /// Reads the strings checkpoints written before `FlockJSON` used for non-finite doubles.
    static var legacyDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
