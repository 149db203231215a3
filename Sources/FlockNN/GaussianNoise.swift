import FlockTensor

/// Additive Gaussian noise N(0, σ²) on its input during training, a regularizer (as
/// Keras' `GaussianNoise`); the identity at inference. Put first, it perturbs the inputs
/// (a denoising autoencoder's corruption). In a trainer's step the noise is keyed by
/// (seed, step, sample, layer path) (`ForwardContext.sampleNoise`), so `--ranks N` draws
/// what one rank draws; elsewhere it comes from the context's generator.
public struct GaussianNoise: Layer {
    public let standardDeviation: Float
    public let outputShape: [Int]
    /// The layer's path, which keys its noise stream.
    public var path = ""

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        guard context.isTraining, standardDeviation > 0 else { return input }
        let noise = context.standardNormal(path: path, shape: input.shape) * standardDeviation
        return context.tape.add(input, context.tape.constant(noise))
    }

    /// `{type: gaussian_noise, stddev: 0.1}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "gaussian_noise"
        public var stddev: Double

        public init(stddev: Double) { self.stddev = stddev }

        enum CodingKeys: String, CodingKey, CaseIterable { case stddev }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a gaussian_noise layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let stddev = try c.decodeIfPresent(Double.self, forKey: .stddev) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.stddev), "a gaussian_noise layer needs stddev")
            }
            try Check.nonNegative(stddev, decoder.fieldPath(CodingKeys.stddev))
            self.init(stddev: stddev)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(stddev, forKey: .stddev)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard stddev >= 0, stddev.isFinite else { throw builder.error("stddev: expected a number ≥ 0, got \(stddev)") }
            return GaussianNoise(standardDeviation: Float(stddev), outputShape: inputShape, path: builder.path.joined(separator: "."))
        }
    }
}

extension LayerConfig {
    /// Adds N(0, stddev²) noise in training.
    public static func gaussianNoise(stddev: Double) -> LayerConfig { LayerConfig(GaussianNoise.Spec(stddev: stddev)) }
}
