/// A closed choice in a config (`direction: maximize`, `launcher: slurm`): a string enum
/// whose decoding error names the field and lists the allowed values,
/// `objective.direction: unknown value 'max' (expected one of: minimize, maximize)`.
/// (A choice a program may extend, such as a sweep's sampler, is a registry instead.)
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
