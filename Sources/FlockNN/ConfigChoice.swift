/// A closed choice in a config (`sampler: {name: tpe}`, `direction: maximize`): a string
/// enum whose decoding error names the field and lists the allowed values,
/// `sampler.name: unknown value 'bayes' (expected one of: grid, random, tpe, gp, auto)`.
///
/// ```swift
/// enum Direction: String, ConfigChoice { case minimize, maximize }
/// ```
public protocol ConfigChoice: RawRepresentable<String>, CaseIterable, Codable, Sendable {}

extension ConfigChoice {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let choice = Self(rawValue: text) else {
            throw ConfigError(path: ConfigError.render(decoder.codingPath),
                              "unknown value '\(text)' (expected one of: \(Self.allowedValues.joined(separator: ", ")))")
        }
        self = choice
    }

    /// The values a config may write, in declaration order.
    public static var allowedValues: [String] { allCases.map(\.rawValue) }
}
