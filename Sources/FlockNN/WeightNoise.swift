import FlockTensor

/// Gaussian weight noise (Graves 2011; An 1996): each step's forward and backward run on
/// weights perturbed by N(0, σ²), and the update applies to the unperturbed weights, so
/// training prefers minima that are flat under such perturbations. Decayed parameters
/// (weights, not biases) only. The noise is drawn from (seed, step), so every
/// data-parallel rank draws the same.
public struct WeightNoise: Sendable, Equatable {
    public var standardDeviation: Float

    public init(standardDeviation: Float) { self.standardDeviation = standardDeviation }

    /// Perturbs the weights for step `step`; returns the clean values to restore with
    /// `ParameterStore.restoreParameters` once the gradients are computed.
    public func perturb(_ parameters: ParameterStore, seed: UInt64, step: Int) -> [Float] {
        let clean = parameters.snapshotParameters()
        var generator = RandomGenerator(seed: seed, stream: Self.stream | UInt64(truncatingIfNeeded: step) & 0xFFFF_FFFF_FFFF)
        for slot in parameters.slots where slot.isDecayed {
            parameters.withParameter(slot) { w in
                for i in 0..<w.count { w[i] += standardDeviation * generator.nextNormal() }
            }
        }
        return clean
    }

    /// The random streams of weight noise (one per step), apart from initialization,
    /// shuffling, dropout and augmentation.
    public static let stream: UInt64 = 0x7E << 56
}
