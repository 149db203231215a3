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
    /// `trainable: false` freezes the layer's parameters (and its children's): the
    /// optimizer leaves them as they are.
    public var trainable: Bool
    /// `lr_multiplier: 0.1` scales the layer's (and its children's) updates.
    public var learningRateMultiplier: Double
    /// `recompute: true` trains the layer with activation recomputation (`RecomputedLayer`).
    public var recompute: Bool
    /// Set under ZeRO stage 3 (by the trainer; never written): a layer with parameters is
    /// a `RecomputedLayer` (replaying only with `recompute`, else keeping its forward's
    /// tape), so that its rows are gathered around each of its uses; one without has
    /// nothing to gather and runs as it is (a sampling layer's loss term stays).
    public var gathersParameters = false

    public init(_ spec: any LayerSpec, trainable: Bool = true, learningRateMultiplier: Double = 1, recompute: Bool = false) {
        self.spec = spec
        self.trainable = trainable
        self.learningRateMultiplier = learningRateMultiplier
        self.recompute = recompute
    }

    /// Keys every layer entry may hold besides its kind's own fields.
    public static let sharedKeys: Set<String> = ["type", "trainable", "lr_multiplier", "recompute"]

    /// This layer's scale on its parameters' updates: 0 when frozen.
    var updateScale: Double { trainable ? learningRateMultiplier : 0 }

    /// The kind's `type:` name.
    public var type: String { Swift.type(of: spec).typeName }

    enum CodingKeys: String, CodingKey {
        case type, trainable, recompute
        case learningRateMultiplier = "lr_multiplier"
    }

    public init(from decoder: any Decoder) throws {
        let registry = decoder.userInfo[.layerRegistry] as? LayerRegistry ?? .standard
        let typeName = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .type)
        guard let kind = registry.kind(named: typeName) else {
            throw ConfigError(path: decoder.fieldPath(CodingKeys.type),
                              "unknown layer type '\(typeName)' (expected one of: \(registry.kinds.map { $0.typeName }.joined(separator: ", ")))")
        }
        spec = try kind.init(from: decoder)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        trainable = try c.decodeIfPresent(Bool.self, forKey: .trainable) ?? true
        recompute = try c.decodeIfPresent(Bool.self, forKey: .recompute) ?? false
        learningRateMultiplier = try c.decodeIfPresent(Double.self, forKey: .learningRateMultiplier) ?? 1
        guard learningRateMultiplier.isFinite, learningRateMultiplier >= 0, learningRateMultiplier <= 1e6 else {
            throw ConfigError(path: decoder.fieldPath(CodingKeys.learningRateMultiplier),
                              "expected a number in [0, 1000000], got \(learningRateMultiplier)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        if !trainable { try container.encode(trainable, forKey: .trainable) }
        if recompute { try container.encode(recompute, forKey: .recompute) }
        if learningRateMultiplier != 1 { try container.encode(learningRateMultiplier, forKey: .learningRateMultiplier) }
        try spec.encode(to: encoder)
    }

    /// Builds the layer; `builder` is already at this layer's path. The update scale of
    /// its parameters is this layer's times its parents'.
    public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
        let inherited = builder.updateScale
        builder.updateScale *= updateScale
        defer { builder.updateScale = inherited }
        let layer = try spec.makeLayer(inputShape: inputShape, builder: &builder)
        if let oversized = builder.oversized { throw builder.error(oversized) }
        guard recomputes(layer) else { return layer }
        let asked = recompute ? "recompute" : "parallel.zero: 3 (each layer with parameters is a unit whose rows are gathered around each use)"
        guard !layer.synchronizesStatistics && !layer.marksPadding && !layer.addsLosses else {
            // Run again in backward, a synchronized batch norm would call a collective out
            // of step with the gradient buckets; a padding marker sets what later layers read;
            // a loss term added in the first run would not reach backward.
            throw builder.error("\(asked): a layer with synchronized batch normalization, a padding_id or a loss term of its own (sampling) cannot be recomputed")
        }
        guard !layer.readsMemory else {
            // The replay's tape holds no memory, and the memory's gradient would not leave it.
            throw builder.error("\(asked): a transformer_decoder (or a block holding one) attends to its node's second input and cannot be recomputed")
        }
        // Under zero 3 alone the unit keeps its forward's tape (FSDP's default): only
        // `recompute` runs the forward again.
        return RecomputedLayer(layer, replays: recompute)
    }

    /// Whether `layer`, built from this entry, runs as a `RecomputedLayer`.
    public func recomputes(_ layer: any Layer) -> Bool {
        recompute || (gathersParameters && !layer.allParameters.isEmpty)
    }

    /// Same kind and same fields: field by field when the kind is `Equatable` (so a field
    /// its encoder leaves out still counts), otherwise by encoding.
    public static func == (lhs: LayerConfig, rhs: LayerConfig) -> Bool {
        guard lhs.trainable == rhs.trainable, lhs.learningRateMultiplier == rhs.learningRateMultiplier,
              lhs.recompute == rhs.recompute else { return false }
        if let spec = lhs.spec as? any Equatable { return spec.isEqual(to: rhs.spec) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return (try? encoder.encode(lhs)) == (try? encoder.encode(rhs))
    }
}

private extension Equatable {
    func isEqual(to other: Any) -> Bool { (other as? Self).map { $0 == self } ?? false }
}
