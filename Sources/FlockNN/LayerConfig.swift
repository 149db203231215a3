import Foundation

/// One layer of a model as written in a config (`{type: dense, units: 128}`) or in Swift
/// (`.dense(units: 128)`): a `LayerSpec` of any registered kind.
///
/// ```swift
/// let layers: [LayerConfig] = [.dense(units: 128, activation: .relu), .dropout(rate: 0.1),
///                              .residual([.dense(units: 128, activation: .relu)]), .dense(units: 10)]
/// ```
public struct LayerConfig: Codable, Sendable, Equatable {
    public let spec: any LayerSpec

    public init(_ spec: any LayerSpec) {
        self.spec = spec
    }

    /// The kind's `type:` name.
    public var type: String { Swift.type(of: spec).typeName }

    enum CodingKeys: String, CodingKey { case type }

    public init(from decoder: any Decoder) throws {
        let registry = decoder.userInfo[.layerRegistry] as? LayerRegistry ?? .standard
        let typeName = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .type)
        guard let kind = registry.kind(named: typeName) else {
            throw ConfigError(path: decoder.fieldPath(CodingKeys.type),
                              "unknown layer type '\(typeName)' (expected one of: \(registry.kinds.map { $0.typeName }.joined(separator: ", ")))")
        }
        spec = try kind.init(from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        try spec.encode(to: encoder)
    }

    /// Builds the layer; `builder` is already at this layer's path.
    public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
        try spec.makeLayer(inputShape: inputShape, builder: &builder)
    }

    /// Same kind and same fields.
    public static func == (lhs: LayerConfig, rhs: LayerConfig) -> Bool {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(lhs)) == (try? encoder.encode(rhs))
    }
}
