import FlockTensor

/// Gaussian weight noise (Graves 2011; An 1996): each step's forward and backward run on
/// weights perturbed by N(0, σ²), and the update applies to the unperturbed weights, so
/// training prefers minima that are flat under such perturbations. Decayed parameters
/// (weights, not biases) only. The noise of each element is a function of (seed, step,
/// parameter path, element index in the whole tensor), drawn from a counter-based stream:
/// every data-parallel rank draws the same, and a rank that holds only part of a weight
/// (a pipeline stage, a tensor slice, its ZeRO-3 rows) draws that part's noise alone.
public struct WeightNoise: Sendable, Equatable {
    public var standardDeviation: Float

    public init(standardDeviation: Float) { self.standardDeviation = standardDeviation }

    /// Perturbs the weights of a whole model for step `step`; returns the clean values to
    /// restore with `ParameterStore.restoreParameters` once the gradients are computed.
    public func perturb(_ parameters: ParameterStore, seed: UInt64, step: Int) -> [Float] {
        let clean = parameters.snapshotParameters()
        for slot in parameters.slots where slot.isDecayed {
            parameters.withParameter(slot) { add(to: $0, parameter: slot.name, from: 0, seed: seed, step: step) }
        }
        return clean
    }

    /// Adds step `step`'s noise to `values`, the elements `globalStart ..< globalStart +
    /// values.count` (flat, row-major in the whole tensor) of parameter `name`.
    public func add(to values: UnsafeMutableBufferPointer<Float>, parameter name: String, from globalStart: Int, seed: UInt64, step: Int) {
        let draws = CounterRandom(seed: seed ^ Self.stream ^ (UInt64(truncatingIfNeeded: step) &* 0x9E37_79B9_7F4A_7C15), name: name)
        for index in values.indices { values[index] += standardDeviation * draws.normal(UInt64(globalStart + index)) }
    }

    /// The random streams of weight noise, apart from initialization, shuffling, dropout
    /// and augmentation.
    public static let stream: UInt64 = 0x7E << 56
}
