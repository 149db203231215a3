import FlockTensor
import Foundation

/// A mixture of K Gaussians with full covariances in D dimensions:
/// p(z) = Σₖ wₖ N(z; μₖ, Σₖ). `fit(_:components:seed:)` estimates one by expectation
/// maximization; a VAE's generator samples codes from one fitted to the training set's
/// posterior means (Ghosh et al., "From Variational to Deterministic Autoencoders",
/// ICLR 2020: ex-post density estimation) instead of N(0, 1).
///
/// ```swift
/// let mixture = try GaussianMixture.fit(codes, components: 10, seed: 1)   // codes (N, D)
/// var generator = RandomGenerator(seed: 1)
/// let z = mixture.sample(count: 500, using: &generator)                 // (500, D)
/// ```
public struct GaussianMixture: Sendable, Equatable {
    /// (K), positive, summing to 1.
    public let weights: [Double]
    /// (K, D).
    public let means: [[Double]]
    /// (K, D·D), each row-major and symmetric positive definite.
    public let covariances: [[Double]]
    let factors: [CholeskyFactor]

    public var dimension: Int { means.first?.count ?? 0 }
    public var components: Int { weights.count }

    /// Nil when a covariance is not positive definite. Preconditions: at least one
    /// component, matching counts, weights ≥ 0 summing to 1 within 1e-6.
    public init?(weights: [Double], means: [[Double]], covariances: [[Double]]) {
        let dimension = means.first?.count ?? 0
        precondition(!weights.isEmpty && weights.count == means.count && means.count == covariances.count,
                     "a mixture needs as many weights, means and covariances (got \(weights.count), \(means.count), \(covariances.count))")
        precondition(means.allSatisfy { $0.count == dimension } && covariances.allSatisfy { $0.count == dimension * dimension },
                     "every mean needs \(dimension) values and every covariance \(dimension * dimension)")
        precondition(weights.allSatisfy { $0 >= 0 } && abs(weights.reduce(0, +) - 1) < 1e-6, "weights must be ≥ 0 and sum to 1, got \(weights)")
        var factors: [CholeskyFactor] = []
        for covariance in covariances {
            guard let factor = CholeskyFactor(covariance, dimension: dimension) else { return nil }
            factors.append(factor)
        }
        self.weights = weights
        self.means = means
        self.covariances = covariances
        self.factors = factors
    }

    /// (N, K): log wₖ + log N(zₙ; μₖ, Σₖ) for the N rows of `points` (N·D values).
    func weightedLogDensities(_ points: [Double]) -> [Double] {
        let d = dimension, rows = points.count / max(d, 1), k = components
        let normalizer = 0.5 * Double(d) * Foundation.log(2 * Double.pi)
        var result = [Double](repeating: 0, count: rows * k)
        var centred = [Double](repeating: 0, count: rows * d)
        for component in 0..<k {
            let mean = means[component], factor = factors[component]
            let constant = Foundation.log(weights[component]) - 0.5 * factor.logDeterminant - normalizer
            for row in 0..<rows { for i in 0..<d { centred[row * d + i] = points[row * d + i] - mean[i] } }
            for (row, length) in factor.squaredWhitenedLengths(centred).enumerated() {
                result[row * k + component] = constant - 0.5 * length
            }
        }
        return result
    }

    /// log p(zₙ) for each of the N rows of `points` (N, D).
    public func logDensity(_ points: Tensor) -> [Double] {
        precondition(points.count % max(dimension, 1) == 0, "points of width \(dimension) expected, got shape \(points.shape)")
        let weighted = weightedLogDensities(points.scalars.map(Double.init))
        return stride(from: 0, to: weighted.count, by: components).map { Self.logSumExp(weighted[$0..<($0 + components)]) }
    }

    /// `count` draws (count, D): a component k with probability wₖ, then μₖ + T·Lₖε with
    /// ε ~ N(0, 1) and Lₖ Lₖᵀ = Σₖ, so the temperature T scales each component's spread.
    public func sample(count: Int, temperature: Double = 1, using generator: inout RandomGenerator) -> Tensor {
        let cumulative = weights.reduce(into: [Double]()) { $0.append(($0.last ?? 0) + $1) }
        var scalars: [Float] = []
        scalars.reserveCapacity(count * dimension)
        for _ in 0..<count {
            let u = Double(generator.nextUniform()) * cumulative[cumulative.count - 1]
            let component = cumulative.firstIndex { u < $0 } ?? components - 1
            let epsilon = (0..<dimension).map { _ in Double(generator.nextNormal()) }
            let spread = factors[component].times(epsilon)
            scalars += (0..<dimension).map { Float(means[component][$0] + temperature * spread[$0]) }
        }
        return Tensor(shape: [count, dimension], scalars: scalars)
    }

    static func logSumExp(_ values: ArraySlice<Double>) -> Double {
        guard let largest = values.max(), largest.isFinite else { return values.max() ?? -.infinity }
        return largest + Foundation.log(values.reduce(0) { $0 + Foundation.exp($1 - largest) })
    }
}
