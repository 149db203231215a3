import FlockTensor
import Foundation
import Testing
@testable import FlockSweep

/// The GP surrogate on its own: the fit, the posterior, log EI and their gradients.
@Suite struct GaussianProcessTests {
    /// `count` uniform points in [0, 1]^dimension.
    static func uniformPoints(_ count: Int, dimension: Int, seed: UInt64) -> [[Double]] {
        var generator = RandomGenerator(seed: seed)
        return (0..<count).map { _ in (0..<dimension).map { _ in generator.nextUnit() } }
    }

    @Test func theFittedProcessInterpolatesNoiseFreePoints() throws {
        let points = Self.uniformPoints(15, dimension: 2, seed: 1)
        let targets = GPSampler.standardized(points.map { sin(3 * $0[0]) + cos(2 * $0[1]) })
        var generator = RandomGenerator(seed: 5)
        let kernel = MarginalLikelihood(points: points, targets: targets).fit(restarts: 3, generator: &generator)
        let process = try #require(GaussianProcess(kernel: kernel, points: points, targets: targets))
        #expect(kernel.noise < 1e-3, "a noise-free function fitted noise \(kernel.noise)")
        for (x, y) in zip(points, targets) {
            let (mean, variance) = process.predict(x)
            #expect(abs(mean - y) < 1e-3, "mean \(mean) at an observation of \(y)")
            #expect(variance < 1e-3)
        }
        // Away from the data the process is unsure.
        #expect(process.predict([3, 3]).variance > 0.5 * kernel.scale)
    }

    @Test func aSmoothDeterministicObjectiveFitsNoiseBelowOptunasFloor() throws {
        // 60 exact values of a smooth function: the likelihood wants σ² → 0. Optuna's floor
        // of 10⁻⁶ (σ = 0.001 standard deviations) would stop it there and blur differences
        // near an optimum smaller than that; ours (10⁻¹⁰) lets the fit go further.
        let points = Self.uniformPoints(60, dimension: 2, seed: 8)
        let targets = GPSampler.standardized(points.map { ($0[0] - 0.3) * ($0[0] - 0.3) + 0.5 * sin(2 * $0[1]) })
        var generator = RandomGenerator(seed: 5)
        let kernel = MarginalLikelihood(points: points, targets: targets).fit(restarts: 3, generator: &generator)
        #expect(kernel.noise < 1e-7, "fitted noise \(kernel.noise)")
        let process = try #require(GaussianProcess(kernel: kernel, points: points, targets: targets))
        let worst = zip(points, targets).map { abs(process.predict($0.0).mean - $0.1) }.max()!
        #expect(worst < 1e-5, "the mean misses an observation by \(worst)")
    }

    @Test func theFittedPriorMeanCountsAClusterOfTrialsAsOne() throws {
        // 20 trials packed within 0.001 of x = 0.1 (loss −2) and 4 far apart (loss +1), with a
        // kernel (ℓ = 0.05, s = 1, σ² = 0.01) short enough that the groups are uncorrelated:
        // K is block-diagonal, the cluster's block nearly 11ᵀ + σ²I, so 1ᵀK⁻¹ gives the
        // cluster the weight 20/(20 + σ²) ≈ 1 of one trial, each far one 1/(1 + σ²), and
        // μ̂ ≈ (−2 + 4·1)/5 = 0.4, where the plain average is (−40 + 4)/24 = −1.5.
        let cluster = (0..<20).map { [0.1 + 0.00005 * Double($0)] }
        let spread = [[0.4], [0.6], [0.8], [1.0]]
        let targets = [Double](repeating: -2, count: 20) + [Double](repeating: 1, count: 4)
        let kernel = MaternKernel(inverseSquaredLengthScales: [400], scale: 1, noise: 0.01)
        let process = try #require(GaussianProcess(kernel: kernel, points: cluster + spread, targets: targets,
                                                   mean: .generalizedLeastSquares))
        #expect(abs(process.priorMean - 0.4) < 0.02, "prior mean \(process.priorMean)")
        // Far from every trial the prediction goes back to it, near the trials it still fits them.
        #expect(abs(process.predict([5]).mean - process.priorMean) < 1e-9)
        #expect(abs(process.predict([0.1005]).mean + 2) < 0.01)
        #expect(abs(process.predict(batch: [[5]])[0].mean - process.priorMean) < 1e-9)
        let zeroMean = try #require(GaussianProcess(kernel: kernel, points: cluster + spread, targets: targets))
        #expect(zeroMean.priorMean == 0 && abs(zeroMean.predict([5]).mean) < 1e-9)
    }

    @Test func theFitRecoversAKnownLengthScaleAndIgnoresAnIrrelevantInput() throws {
        // y is a draw from a Matérn 5/2 process with length scale 0.2 along x₀; x₁ plays no part.
        let lengthScale = 0.2, n = 60
        let points = Self.uniformPoints(n, dimension: 2, seed: 7)
        func matern(_ r: Double) -> Double { (1 + 5.0.squareRoot() * r + 5 * r * r / 3) * exp(-5.0.squareRoot() * r) }
        var covariance = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n { for j in 0..<n { covariance[i][j] = matern(abs(points[i][0] - points[j][0]) / lengthScale) + (i == j ? 1e-8 : 0) } }
        // A plain Cholesky–Banachiewicz factorization, independent of the LAPACK one under test.
        var factor = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
        for i in 0..<n {
            for j in 0...i {
                let partial = (0..<j).reduce(0) { $0 + factor[i][$1] * factor[j][$1] }
                factor[i][j] = i == j ? (covariance[i][i] - partial).squareRoot() : (covariance[i][j] - partial) / factor[j][j]
            }
        }
        var generator = RandomGenerator(seed: 11)
        let normals = (0..<n).map { _ in
            (-2 * log(1 - generator.nextUnit())).squareRoot() * cos(2 * Double.pi * generator.nextUnit())
        }
        let targets = GPSampler.standardized((0..<n).map { i in (0...i).reduce(0) { $0 + factor[i][$1] * normals[$1] } })
        let kernel = MarginalLikelihood(points: points, targets: targets).fit(restarts: 3, generator: &generator)
        let fitted = kernel.inverseSquaredLengthScales.map { 1 / $0.squareRoot() }
        #expect(fitted[0] > lengthScale / 1.5 && fitted[0] < lengthScale * 1.5, "fitted length scale \(fitted[0]), true \(lengthScale)")
        #expect(fitted[1] > 1, "the irrelevant input got length scale \(fitted[1])")
    }

    @Test func marginalLikelihoodGradientMatchesFiniteDifferences() {
        let points = Self.uniformPoints(12, dimension: 3, seed: 2)
        let targets = GPSampler.standardized(points.map { $0[0] * $0[0] - sin(4 * $0[1]) })
        let likelihood = MarginalLikelihood(points: points, targets: targets)
        let p = [0.5, -0.3, 1.2, 0.2, log(0.01)]
        let (_, gradient) = likelihood.negativeLogPosterior(p)
        for k in p.indices {
            var up = p, down = p
            up[k] += 1e-5; down[k] -= 1e-5
            let numeric = (likelihood.negativeLogPosterior(up).value - likelihood.negativeLogPosterior(down).value) / 2e-5
            #expect(abs(numeric - gradient[k]) < 1e-4 * max(1, abs(numeric)), "∂/∂p\(k): analytic \(gradient[k]), numeric \(numeric)")
        }
    }

    @Test func logExpectedImprovementMatchesTheIntegral() {
        // log h(z), h(z) = ∫₀^∞ u φ(u − z) du = e^{−z²/2}/√(2π) · ∫₀^∞ u e^{zu − u²/2} du; the
        // second integral by the trapezoid rule on a fine grid, taken in log space so that
        // z = −40 (EI ≈ e⁻⁸⁰⁰, far below the smallest double) is checked too.
        func integral(_ z: Double) -> Double {
            // zu − u²/2 peaks at u = z (z > 0) or u = 0: subtract the peak so nothing overflows.
            let upper = max(12, z + 12), steps = 400_000, width = upper / Double(steps), peak = max(0, z) * max(0, z) / 2
            var total = 0.0
            for k in 0...steps {
                let u = Double(k) * width
                total += (k == 0 || k == steps ? 0.5 : 1) * u * exp(z * u - u * u / 2 - peak)
            }
            return log(total * width) + peak - z * z / 2 - 0.5 * log(2 * Double.pi)
        }
        for z in [-40.0, -26, -24, -5, -1, 0, 1.5, 4] {
            let expected = integral(z)
            #expect(abs(LogExpectedImprovement.logH(z) - expected) < 1e-6 * max(1, abs(expected)),
                    "z = \(z): \(LogExpectedImprovement.logH(z)) vs \(expected)")
            let slope = (LogExpectedImprovement.logH(z + 1e-5) - LogExpectedImprovement.logH(z - 1e-5)) / 2e-5
            #expect(abs(LogExpectedImprovement.logHDerivative(z) - slope) < 1e-5 * max(1, abs(slope)), "z = \(z)")
        }
        // log EI = log σ + log h(z) with z = (best − μ)/σ.
        #expect(abs(LogExpectedImprovement.value(mean: 1, variance: 4, best: 0) - (log(2) + integral(-0.5))) < 1e-6)
    }

    @Test func logExpectedImprovementGradientMatchesFiniteDifferences() throws {
        let points = Self.uniformPoints(10, dimension: 2, seed: 3)
        let targets = GPSampler.standardized(points.map { cos(5 * $0[0]) * $0[1] })
        let kernel = MaternKernel(inverseSquaredLengthScales: [8, 3], scale: 1.3, noise: 1e-6)
        let process = try #require(GaussianProcess(kernel: kernel, points: points, targets: targets))
        let best = targets.min()!
        func logEI(_ x: [Double]) -> (Double, [Double]) {
            let p = process.predictWithGradient(x)
            return LogExpectedImprovement.valueAndGradient(mean: p.mean, variance: p.variance, meanGradient: p.meanGradient,
                                                           varianceGradient: p.varianceGradient, best: best)
        }
        for x in Self.uniformPoints(5, dimension: 2, seed: 4) {
            let (value, gradient) = logEI(x)
            #expect(abs(value - LogExpectedImprovement.value(mean: process.predict(x).mean, variance: process.predict(x).variance, best: best)) < 1e-12)
            for k in 0..<2 {
                var up = x, down = x
                up[k] += 1e-6; down[k] -= 1e-6
                let numeric = (logEI(up).0 - logEI(down).0) / 2e-6
                #expect(abs(numeric - gradient[k]) < 1e-4 * max(1, abs(numeric)), "∂/∂x\(k): \(gradient[k]) vs \(numeric)")
            }
        }
    }

    @Test func boxedLBFGSStopsAtTheBoundWhereTheMinimumLiesOutside() {
        // Rosenbrock's valley inside [−2, 2] × [−2, 2], and a bowl centred outside [0, 1]².
        let rosenbrock = BoxedLBFGS().minimize(from: [-1.2, 1], lower: [-2, -2], upper: [2, 2]) { x in
            let a = 1 - x[0], b = x[1] - x[0] * x[0]
            return (a * a + 100 * b * b, [-2 * a - 400 * x[0] * b, 200 * b])
        }
        #expect(abs(rosenbrock.x[0] - 1) < 1e-3 && abs(rosenbrock.x[1] - 1) < 1e-3, "\(rosenbrock.x)")
        let boxed = BoxedLBFGS().minimize(from: [0.5, 0.5], lower: [0, 0], upper: [1, 1]) { x in
            ((x[0] - 2) * (x[0] - 2) + (x[1] - 0.3) * (x[1] - 0.3), [2 * (x[0] - 2), 2 * (x[1] - 0.3)])
        }
        #expect(boxed.x[0] == 1 && abs(boxed.x[1] - 0.3) < 1e-6, "\(boxed.x)")
    }
}
