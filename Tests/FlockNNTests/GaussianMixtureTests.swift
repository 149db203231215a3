import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// Expectation maximization and the mixture's density and draws, against known mixtures
/// and closed forms.
@Suite struct GaussianMixtureTests {
    /// A known 2-D mixture: weights, means, and each component's factor A (Σ = A·Aᵀ, A lower triangular, row-major).
    static let weights = [0.5, 0.3, 0.2]
    static let means: [[Double]] = [[-4, 0], [3, 3], [2, -4]]
    static let factors: [[Double]] = [[1.0, 0, 0.5, 0.5], [0.6, 0, -0.3, 1.2], [0.4, 0, 0, 0.4]]

    /// `count` points drawn from the known mixture by hand (the component by the running
    /// weight sum, then μ + A·ε), and each point's component.
    static func knownMixturePoints(count: Int, seed: UInt64) -> (points: Tensor, components: [Int]) {
        var generator = RandomGenerator(seed: seed)
        var scalars: [Float] = [], components: [Int] = []
        for _ in 0..<count {
            let u = Double(generator.nextUniform())
            let k = u < 0.5 ? 0 : u < 0.8 ? 1 : 2
            let e0 = Double(generator.nextNormal()), e1 = Double(generator.nextNormal())
            let a = factors[k]
            scalars += [Float(means[k][0] + a[0] * e0), Float(means[k][1] + a[2] * e0 + a[3] * e1)]
            components.append(k)
        }
        return (Tensor(shape: [count, 2], scalars: scalars), components)
    }

    /// The fitted components against the known ones (weights within 0.03, means within
    /// 0.2, covariances within 15 %) and, tighter, against the sample moments of the
    /// points each component drew (the clusters barely overlap, so EM finds those).
    @Test func emRecoversTheWeightsMeansAndCovariancesOfAKnownMixture() throws {
        let (points, labels) = Self.knownMixturePoints(count: 4000, seed: 11)
        let fitted = try GaussianMixture.fit(points, components: 3, seed: 2)
        let x = points.scalars.map(Double.init)
        for k in 0..<3 {
            // The fitted component nearest the known mean (their order is the seeds').
            let j = (0..<3).min { Self.distance(fitted.means[$0], Self.means[k]) < Self.distance(fitted.means[$1], Self.means[k]) }!
            let a = Self.factors[k]
            let covariance = [a[0] * a[0], a[0] * a[2], a[0] * a[2], a[2] * a[2] + a[3] * a[3]]
            #expect(abs(fitted.weights[j] - Self.weights[k]) < 0.03, "weight \(fitted.weights[j]) for \(Self.weights[k])")
            #expect(Self.distance(fitted.means[j], Self.means[k]) < 0.2, "mean \(fitted.means[j]) for \(Self.means[k])")
            for (got, expected) in zip(fitted.covariances[j], covariance) {
                #expect(abs(got - expected) < 0.15 * max(1, abs(expected)), "covariance \(fitted.covariances[j]) for \(covariance)")
            }
            let own = labels.indices.filter { labels[$0] == k }, n = Double(own.count)
            let mean = [0, 1].map { i in own.reduce(0) { $0 + x[$1 * 2 + i] } / n }
            let moments = [(0, 0), (0, 1), (1, 0), (1, 1)].map { i, l in
                own.reduce(0) { $0 + (x[$1 * 2 + i] - mean[i]) * (x[$1 * 2 + l] - mean[l]) } / n
            }
            #expect(abs(fitted.weights[j] - n / 4000) < 1e-3, "weight \(fitted.weights[j]), share drawn \(n / 4000)")
            #expect(Self.distance(fitted.means[j], mean) < 1e-2, "mean \(fitted.means[j]), drawn points' \(mean)")
            #expect(zip(fitted.covariances[j], moments).allSatisfy { abs($0 - $1) < 1e-2 }, "\(fitted.covariances[j]), drawn \(moments)")
        }
    }

    /// One component is the maximum-likelihood Gaussian: the points' mean and their
    /// covariance divided by N, plus the 10⁻⁶ × mean variance on the diagonal.
    @Test func oneComponentIsThePointsMeanAndCovariance() throws {
        let points: [[Double]] = [[1, 2], [3, 1], [0, -1], [2, 2], [4, 0]]
        let fitted = try GaussianMixture.fit(Tensor(shape: [5, 2], scalars: points.flatMap { $0.map(Float.init) }), components: 1, seed: 1)
        // By hand: mean (2, 0.8); centred x (-1, 1, -2, 0, 2), y (1.2, 0.2, -1.8, 1.2, -0.8):
        // Σx² = 10, Σxy = 1, Σy² = 6.8.
        let covariance = [10.0 / 5, 1.0 / 5, 1.0 / 5, 6.8 / 5]
        let ridge = 1e-6 * (2.0 + 1.36) / 2
        #expect(fitted.weights == [1])
        #expect(Self.distance(fitted.means[0], [2, 0.8]) < 1e-6)
        let expected = [covariance[0] + ridge, covariance[1], covariance[2], covariance[3] + ridge]
        #expect(zip(fitted.covariances[0], expected).allSatisfy { abs($0 - $1) < 1e-6 }, "\(fitted.covariances[0])")
    }

    @Test func theFitAndTheDrawsAreDeterministicBySeed() throws {
        let points = Self.knownMixturePoints(count: 600, seed: 5).points
        let first = try GaussianMixture.fit(points, components: 4, seed: 9)
        #expect(try GaussianMixture.fit(points, components: 4, seed: 9) == first)
        var a = RandomGenerator(seed: 3), b = RandomGenerator(seed: 3), c = RandomGenerator(seed: 4)
        let draws = first.sample(count: 50, using: &a)
        #expect(draws.shape == [50, 2])
        #expect(first.sample(count: 50, using: &b) == draws)
        #expect(first.sample(count: 50, using: &c) != draws)
    }

    /// The draws' mean and covariance approach the mixture's: Σ wₖμₖ and
    /// Σ wₖ(Σₖ + μₖμₖᵀ) − μμᵀ; the temperature scales each component's spread only.
    @Test func drawsHaveTheMixturesMomentsAndTemperatureScalesEachComponentsSpread() throws {
        let covariances = Self.factors.map { a in [a[0] * a[0], a[0] * a[2], a[0] * a[2], a[2] * a[2] + a[3] * a[3]] }
        let mixture = try #require(GaussianMixture(weights: Self.weights, means: Self.means, covariances: covariances))
        for temperature in [1.0, 0.5] {
            var generator = RandomGenerator(seed: 8)
            let draws = mixture.sample(count: 40_000, temperature: temperature, using: &generator).scalars.map(Double.init)
            let n = Double(draws.count / 2)
            let mean = [0, 1].map { i in stride(from: i, to: draws.count, by: 2).reduce(0) { $0 + draws[$1] } / n }
            var expectedMean = [0.0, 0.0], expectedSecond = [0.0, 0.0, 0.0, 0.0]
            for k in 0..<3 {
                let m = Self.means[k], c = covariances[k], t2 = temperature * temperature
                for i in 0..<2 { expectedMean[i] += Self.weights[k] * m[i] }
                for i in 0..<2 { for j in 0..<2 { expectedSecond[i * 2 + j] += Self.weights[k] * (t2 * c[i * 2 + j] + m[i] * m[j]) } }
            }
            #expect(Self.distance(mean, expectedMean) < 0.05, "T \(temperature): mean \(mean), expected \(expectedMean)")
            for i in 0..<2 {
                for j in 0..<2 {
                    let second = stride(from: 0, to: draws.count, by: 2).reduce(0) { $0 + draws[$1 + i] * draws[$1 + j] } / n
                    let expected = expectedSecond[i * 2 + j] - expectedMean[i] * expectedMean[j]
                    #expect(abs(second - mean[i] * mean[j] - expected) < 0.1, "T \(temperature): covariance [\(i)][\(j)]")
                }
            }
        }
    }

    /// log p at a point against the 2-D Gaussian formula by hand.
    @Test func theLogDensityIsTheWeightedGaussianSum() throws {
        let mixture = try #require(GaussianMixture(weights: [0.25, 0.75], means: [[0, 0], [1, 2]],
                                                   covariances: [[1, 0, 0, 1], [2, 0.5, 0.5, 1]]))
        let x = 0.5, y = 1.0
        let first = Foundation.exp(-(x * x + y * y) / 2) / (2 * Double.pi)
        // Σ = [[2, .5], [.5, 1]]: det 1.75, Σ⁻¹ = [[1, -.5], [-.5, 2]] / 1.75.
        let dx = x - 1, dy = y - 2
        let quadratic = (dx * dx - dx * dy + 2 * dy * dy) / 1.75
        let second = Foundation.exp(-quadratic / 2) / (2 * Double.pi * 1.75.squareRoot())
        let logDensity = mixture.logDensity(Tensor(shape: [1, 2], scalars: [0.5, 1]))
        #expect(abs(logDensity[0] - Foundation.log(0.25 * first + 0.75 * second)) < 1e-9)
    }

    @Test func aComponentCountOutsideOneToTheNumberOfPointsOrANonFiniteValueIsAnError() throws {
        let points = Tensor(shape: [3, 2], scalars: [0, 1, 2, 3, 4, 5])
        #expect(throws: ConfigError(path: "components", "expected 1 to 3 (the number of points), got 0")) {
            try GaussianMixture.fit(points, components: 0, seed: 1)
        }
        #expect(throws: ConfigError(path: "components", "expected 1 to 3 (the number of points), got 4")) {
            try GaussianMixture.fit(points, components: 4, seed: 1)
        }
        #expect(throws: ConfigError(path: "points", "row 1 holds nan: every value must be finite")) {
            try GaussianMixture.fit(Tensor(shape: [3, 2], scalars: [0, 1, .nan, 3, 4, 5]), components: 1, seed: 1)
        }
        #expect(throws: ConfigError(path: "points", "expected a (N, D) matrix with D ≥ 1, got shape [6]")) {
            try GaussianMixture.fit(Tensor(shape: [6], scalars: [0, 1, 2, 3, 4, 5]), components: 1, seed: 1)
        }
        // Identical points: a ridge keeps the covariance positive definite.
        let same = try GaussianMixture.fit(Tensor(repeating: 2, shape: [4, 3]), components: 2, seed: 1)
        #expect(same.means.allSatisfy { $0 == [2, 2, 2] })
    }

    static func distance(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
    }
}
