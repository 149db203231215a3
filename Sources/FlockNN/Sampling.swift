import FlockTensor

/// A VAE's reparameterization (Kingma & Welling, "Auto-Encoding Variational Bayes",
/// 2014): the input's last axis holds [μ | log σ²] halves, (B, …, 2D) → (B, …, D); in
/// training the output is μ + exp(log σ² / 2)·ε with ε ~ N(0, 1) keyed by (seed, step,
/// sample) (`ForwardContext.sampleNoise`), at inference μ. The layer adds
/// `kl_weight · KL(N(μ, σ²) ‖ N(0, 1))`, summed over a sample's elements and averaged
/// over the batch, to the loss:
/// KL = ½ Σ (μ² + σ² − log σ² − 1).
///
/// `kl_warmup_steps: N` anneals the term in (Bowman et al. 2016): in a trainer's step s
/// its weight is `kl_weight`·min(1, s/N), so the first steps learn to reconstruct before
/// the prior pulls the codes together; outside a trainer's step (validation, a model run
/// by hand) the weight is `kl_weight`. The step keys it, so a resume needs no state.
public struct Sampling: Layer {
    public let klWeight: Float
    public var klWarmupSteps = 0
    public let outputShape: [Int]
    /// The layer's path, which keys its noise stream.
    public let path: String
    public var addsLosses: Bool { klWeight > 0 }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let tape = context.tape, axis = input.shape.count - 1, half = input.shape[axis] / 2
        let mean = tape.slice(input, axis: axis, range: 0..<half)
        let logVariance = tape.slice(input, axis: axis, range: half..<(2 * half))
        if klWeight > 0 {
            let weight = klWeight * warmup(step: context.sampleNoise?.step)
            context.addedLosses.append(klDivergence(mean: mean, logVariance: logVariance, weight: weight, tape: tape))
        }
        guard context.isTraining else { return mean }
        let epsilon = context.standardNormal(path: path, shape: mean.shape)
        let deviation = tape.exp(tape.scale(logVariance, by: 0.5))
        return tape.add(mean, tape.multiply(deviation, tape.constant(epsilon)))
    }

    /// The share of `kl_weight` in force at trainer step `step`: min(1, step / warm-up steps).
    func warmup(step: Int?) -> Float {
        guard let step, klWarmupSteps > 0 else { return 1 }
        return Float(min(step, klWarmupSteps)) / Float(klWarmupSteps)
    }

    /// `weight`·½·Σ(μ² + exp(log σ²) − log σ² − 1) / B, a scalar.
    private func klDivergence(mean: Variable, logVariance: Variable, weight: Float, tape: Tape) -> Variable {
        let rows = Float(max(mean.shape[0], 1)), elements = Float(mean.value.scalars.count)
        let terms = tape.subtract(tape.add(tape.square(mean), tape.exp(logVariance)), logVariance)
        let summed = tape.sum(terms)
        return tape.scale(tape.add(summed, tape.constant(Tensor(scalar: -elements))), by: 0.5 * weight / rows)
    }

    /// `{type: sampling, kl_weight: 1, kl_warmup_steps: 0}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "sampling"
        public var klWeight: Double
        public var klWarmupSteps: Int

        public init(klWeight: Double = 1, klWarmupSteps: Int = 0) {
            self.klWeight = klWeight
            self.klWarmupSteps = klWarmupSteps
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case klWeight = "kl_weight"
            case klWarmupSteps = "kl_warmup_steps"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a sampling layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let klWeight = try c.value(.klWeight, or: 1.0)
            try Check.nonNegative(float: klWeight, decoder.fieldPath(CodingKeys.klWeight))
            let warmup = try c.value(.klWarmupSteps, or: 0)
            try Check.within(warmup, 0, 1 << 40, decoder.fieldPath(CodingKeys.klWarmupSteps))
            self.init(klWeight: klWeight, klWarmupSteps: warmup)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(klWeight, forKey: .klWeight)
            if klWarmupSteps > 0 { try c.encode(klWarmupSteps, forKey: .klWarmupSteps) }
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard klWeight >= 0, klWeight.isFinite else { throw builder.error("kl_weight: expected a number ≥ 0, got \(klWeight)") }
            guard let last = inputShape.last, last % 2 == 0 else {
                throw builder.error("a sampling layer takes [mean | log_var] halves: expected an even last size, got input shape \(inputShape)")
            }
            return Sampling(klWeight: Float(klWeight), klWarmupSteps: klWarmupSteps,
                            outputShape: inputShape.dropLast() + [last / 2], path: builder.path.joined(separator: "."))
        }
    }
}

extension LayerConfig {
    /// A VAE's reparameterization over [mean | log_var] halves, adding `klWeight`·KL.
    public static func sampling(klWeight: Double = 1, klWarmupSteps: Int = 0) -> LayerConfig {
        LayerConfig(Sampling.Spec(klWeight: klWeight, klWarmupSteps: klWarmupSteps))
    }
}
