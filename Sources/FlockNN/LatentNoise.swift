import FlockTensor

/// A generator's latent input z ~ N(0, 1): (B, …) → (B, units), its input read only for
/// the batch size (`{type: latent_noise, units: 32}` on a GAN's condition or any input).
/// In a trainer's step z is keyed by (seed, step, sample, layer path)
/// (`ForwardContext.sampleNoise`), so `--ranks N` draws what one rank draws; elsewhere
/// (evaluation) it comes from the context's generator. `flock generate` puts its own
/// draws in place of the node that ends in this layer.
public struct LatentNoise: Layer {
    public let outputShape: [Int]
    /// The layer's path, which keys its noise stream.
    public let path: String

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        context.tape.constant(context.standardNormal(path: path, shape: [input.shape[0]] + outputShape))
    }

    /// `{type: latent_noise, units: 32}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "latent_noise"
        public var units: Int

        public init(units: Int) { self.units = units }

        enum CodingKeys: String, CodingKey, CaseIterable { case units }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a latent_noise layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let units = try c.decodeIfPresent(Int.self, forKey: .units) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.units), "a latent_noise layer needs units")
            }
            try Check.positive(units, decoder.fieldPath(CodingKeys.units))
            self.init(units: units)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(units, forKey: .units)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard units > 0 else { throw builder.error("units: expected a positive number, got \(units)") }
            return LatentNoise(outputShape: [units], path: builder.path.joined(separator: "."))
        }
    }
}

extension LayerConfig {
    /// z ~ N(0, 1) of `units` values per sample.
    public static func latentNoise(units: Int) -> LayerConfig { LayerConfig(LatentNoise.Spec(units: units)) }
}
