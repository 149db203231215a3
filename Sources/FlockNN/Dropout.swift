import FlockTensor

/// Inverted dropout (Srivastava et al. 2014): in training each element is zeroed with
/// probability `rate` and survivors are scaled by 1/(1 − rate); at inference it is the identity.
public struct Dropout: Layer {
    public let rate: Float
    public let outputShape: [Int]

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        guard context.isTraining else { return input }
        return context.tape.dropout(input, rate: rate, generator: &context.generator)
    }

    /// `{type: dropout, rate: 0.1}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "dropout"
        public var rate: Double

        public init(rate: Double) { self.rate = rate }

        enum CodingKeys: String, CodingKey, CaseIterable { case rate }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a dropout layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let rate = try c.decodeIfPresent(Double.self, forKey: .rate) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.rate), "a dropout layer needs rate")
            }
            try Check.inRange(float: rate, 0, 1, decoder.fieldPath(CodingKeys.rate))
            self.init(rate: rate)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(rate, forKey: .rate)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard rate >= 0 && rate < 1 else { throw builder.error("rate: expected a number in [0, 1), got \(rate)") }
            return Dropout(rate: Float(rate), outputShape: inputShape)
        }
    }
}

extension LayerConfig {
    /// Inverted dropout with drop probability `rate`.
    public static func dropout(rate: Double) -> LayerConfig { LayerConfig(Dropout.Spec(rate: rate)) }
}
