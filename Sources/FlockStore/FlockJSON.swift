import Foundation

/// The one JSON writer and reader for everything Flock writes: `metrics.jsonl`,
/// `summary.json`, a checkpoint's `state.json`, predictions, study and bench results, the
/// store's JSON columns and `--json` output.
///
/// A non-finite number (a diverged run's loss) is written as the string `"NaN"`,
/// `"Infinity"` or `"-Infinity"`: bare `NaN` is not JSON, and browsers' `JSON.parse`,
/// Python's `json` in strict mode and `jq` reject it. Readers here take those strings back
/// as numbers. A finite double is written in the shortest form that reads back as the same
/// double (Swift's `description`); a `Float` in its own shortest form. Keys are sorted, so
/// output is stable.
///
/// ```swift
/// let line = try FlockJSON.string(["epoch": 3, "loss": Double.nan])   // {"epoch":3,"loss":"NaN"}
/// let loss = FlockJSON.number((try FlockJSON.object(from: Data(line.utf8)) as? [String: Any])?["loss"])  // nan
/// ```
public enum FlockJSON {
    public static let notANumber = "NaN"
    public static let infinity = "Infinity"
    public static let negativeInfinity = "-Infinity"

    // MARK: Trees of dictionaries and arrays

    /// `value` as JSON text: `[String: Any]` (keys sorted), arrays, strings, booleans,
    /// integers, `Double`, `Float`, `NSNumber`, `NSNull` and `nil`. `pretty` indents by two
    /// spaces. Throws for any other value, naming its type.
    public static func string(_ value: Any, pretty: Bool = false) throws -> String {
        var text = ""
        try write(value, into: &text, indent: pretty ? 0 : nil)
        return text
    }

    /// `string(value, pretty:)` as UTF-8.
    public static func data(_ value: Any, pretty: Bool = false) throws -> Data {
        Data(try string(value, pretty: pretty).utf8)
    }

    /// The tree `data` holds: `[String: Any]`, `[Any]`, `String`, `Bool`, `Int` (whole
    /// numbers that fit), `Double` (the rest, and the strings "NaN", "Infinity" and
    /// "-Infinity"), `NSNull`.
    public static func object(from data: Data) throws -> Any {
        try decoder.decode(Tree.self, from: data).value
    }

    /// A number read from a tree: a `Double`, an integer, an `NSNumber` that is not a
    /// boolean, or one of the strings "NaN", "Infinity", "-Infinity"; nil otherwise.
    public static func number(_ value: Any?) -> Double? {
        guard let value else { return nil }
        if let number = foundationNumber(value) { return isBoolean(number) ? nil : number.doubleValue }
        switch value {
        case let text as String:
            return [notANumber: Double.nan, infinity: Double.infinity, negativeInfinity: -Double.infinity][text]
        case is Bool:
            return nil
        case let number as Double:
            return number
        case let number as Float:
            return Double(number)
        case let integer as any BinaryInteger:
            return Double(integer)
        default:
            return nil
        }
    }

    // MARK: Codable

    /// A `JSONEncoder` that writes non-finite doubles as the strings above, keys sorted.
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: infinity, negativeInfinity: negativeInfinity,
                                                                      nan: notANumber)
        return encoder
    }

    /// A `JSONDecoder` that reads them back.
    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: infinity, negativeInfinity: negativeInfinity,
                                                                        nan: notANumber)
        return decoder
    }

    // MARK: Writing

    /// Appends `value`; `indent` is the current depth when pretty-printing, nil for one line.
    private static func write(_ value: Any, into text: inout String, indent: Int?) throws {
        if let number = foundationNumber(value) {
            if isBoolean(number) { text += number.boolValue ? "true" : "false" }
            else if ["d", "f"].contains(String(cString: number.objCType)) { writeNumber(number.doubleValue, into: &text) }
            else if String(cString: number.objCType) == "Q" { text += "\(number.uint64Value)" }
            else { text += "\(number.int64Value)" }
            return
        }
        switch value {
        case let string as String:
            quote(string, into: &text)
        case let bool as Bool:
            text += bool ? "true" : "false"
        case let number as Double:
            writeNumber(number, into: &text)
        case let number as Float:
            text += number.isFinite ? "\(number)" : nonFinite(Double(number))
        case let integer as any BinaryInteger:
            text += "\(integer)"
        case is NSNull:
            text += "null"
        case let dictionary as [String: Any]:
            try writeContainer(dictionary.keys.sorted(), open: "{", close: "}", into: &text, indent: indent) { key, text, indent in
                quote(key, into: &text)
                text += indent == nil ? ":" : " : "
                try write(dictionary[key]!, into: &text, indent: indent)
            }
        case let array as [Any]:
            try writeContainer(array, open: "[", close: "]", into: &text, indent: indent) { item, text, indent in
                try write(item, into: &text, indent: indent)
            }
        default:
            let mirror = Mirror(reflecting: value)
            guard mirror.displayStyle == .optional else {
                throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "\(type(of: value)) is not a JSON value"))
            }
            if let wrapped = mirror.children.first?.value { try write(wrapped, into: &text, indent: indent) } else { text += "null" }
        }
    }

    private static func writeContainer<Element>(_ elements: [Element], open: String, close: String, into text: inout String,
                                                indent: Int?, _ body: (Element, inout String, Int?) throws -> Void) throws {
        text += open
        guard !elements.isEmpty else { text += close; return }
        let inner = indent.map { $0 + 1 }
        for (index, element) in elements.enumerated() {
            if index > 0 { text += "," }
            if let inner { text += "\n" + String(repeating: "  ", count: inner) }
            try body(element, &text, inner)
        }
        if let indent { text += "\n" + String(repeating: "  ", count: indent) }
        text += close
    }

    private static func writeNumber(_ number: Double, into text: inout String) {
        text += number.isFinite ? "\(number)" : nonFinite(number)
    }

    private static func nonFinite(_ number: Double) -> String {
        "\"\(number.isNaN ? notANumber : number > 0 ? infinity : negativeInfinity)\""
    }

    private static let escapes: [Unicode.Scalar: String] = ["\"": "\\\"", "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"]

    private static func quote(_ string: String, into text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            if let escape = escapes[scalar] { text += escape }
            else if scalar.value < 0x20 { text += String(format: "\\u%04x", scalar.value) }
            else { text.unicodeScalars.append(scalar) }
        }
        text += "\""
    }

    // MARK: NSNumber (what JSONSerialization and Objective-C-style code hand over)

    /// `value` when it is an `NSNumber` object rather than a Swift number or boolean.
    private static func foundationNumber(_ value: Any) -> NSNumber? {
        type(of: value) is NSNumber.Type ? value as? NSNumber : nil
    }

    /// Foundation keeps booleans as `NSNumber`s of type `char`.
    private static func isBoolean(_ number: NSNumber) -> Bool {
        String(cString: number.objCType) == "c"
    }

    // MARK: Reading

    /// Any JSON value, decoded so that integers stay exact and the non-finite strings
    /// become doubles.
    private struct Tree: Decodable {
        let value: Any

        init(from decoder: any Decoder) throws {
            if var list = try? decoder.unkeyedContainer() {
                var items: [Any] = []
                while !list.isAtEnd { items.append(try list.decode(Tree.self).value) }
                value = items
            } else if let object = try? decoder.container(keyedBy: Key.self) {
                var result: [String: Any] = [:]
                for key in object.allKeys { result[key.stringValue] = try object.decode(Tree.self, forKey: key).value }
                value = result
            } else {
                let single = try decoder.singleValueContainer()
                if single.decodeNil() { value = NSNull() }
                else if let bool = try? single.decode(Bool.self) { value = bool }
                else if let integer = try? single.decode(Int.self) { value = integer }
                else if let number = try? single.decode(Double.self) { value = number }
                else { value = try single.decode(String.self) }
            }
        }

        struct Key: CodingKey {
            let stringValue: String
            init(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }
    }
}
