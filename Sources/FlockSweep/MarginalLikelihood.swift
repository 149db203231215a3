import FlockTensor
import Foundation

/// The log posterior of a Matérn 5/2 kernel's hyperparameters given observations: the
/// log marginal likelihood (Rasmussen & Williams eq. 5.8)
///
///     log p(y | X, θ, s, σ²) = −½ yᵀK⁻¹y − ½ log|K| − (n/2) log 2π
///
/// plus weak priors that keep a handful of points from fitting absurd kernels (Optuna's
/// GPSampler priors): −(0.1/θ_d + 0.1·θ_d) on each inverse squared length scale (mode at
/// θ = 1, a length scale as wide as the cube), Gamma(2, 1) on s and Gamma(1.1, 30) on σ².
///
/// Hyperparameters are optimized in log space, p = (log θ₁…log θ_d, log s, log(σ² − σ²_min)),
/// with the gradient ∂/∂p = ½ tr((ααᵀ − K⁻¹) ∂K/∂p), α = K⁻¹y (eq. 5.9).
struct MarginalLikelihood {
    let count: Int
    let dimension: Int
    /// (x_i,d − x_j,d)² for every pair i > j, (d, pairs): index d·pairs + p.
    private let squaredDifferences: [Double]
    private let pairs: [(i: Int, j: Int)]
    let targets: [Double]
    /// σ²_min: the noise never fits below this, so K stays positive definite in Double
    /// (condition number ≲ n·s/σ²_min). 10⁻¹⁰ of the targets' variance, where Optuna
    /// takes 10⁻⁶: a floor at 10⁻⁶ (σ = 0.001 standard deviations) makes a deterministic
    /// objective noisy at that level, and near its optimum, where improvements are smaller
    /// than that, the mean smooths them away; Branin's median regret after 50 trials
    /// went from 5.4e-5 to 1.5e-6 (20 seeds). A noisy objective fits its own, larger σ².
    let minimumNoise: Double

    init(points: [[Double]], targets: [Double], minimumNoise: Double = 1e-10) {
        count = points.count
        dimension = points.first?.count ?? 0
        var pairs: [(i: Int, j: Int)] = []
        for i in 0..<count { for j in 0..<i { pairs.append((i, j)) } }
        var differences = [Double](repeating: 0, count: dimension * pairs.count)
        for d in 0..<dimension {
            for (p, pair) in pairs.enumerated() {
                let difference = points[pair.i][d] - points[pair.j][d]
                differences[d * pairs.count + p] = difference * difference
            }
        }
        self.pairs = pairs
        squaredDifferences = differences
        self.targets = targets
        self.minimumNoise = minimumNoise
    }

    /// The kernel at log-space hyperparameters `p` (d + 2).
    func kernel(_ p: [Double]) -> MaternKernel {
        MaternKernel(inverseSquaredLengthScales: p.prefix(dimension).map(exp), scale: exp(p[dimension]),
                     noise: minimumNoise + exp(p[dimension + 1]))
    }

    /// −(log marginal likelihood + log prior) at `p` and its gradient; +∞ where K is not
    /// positive definite.
    func negativeLogPosterior(_ p: [Double]) -> (value: Double, gradient: [Double]) {
        let kernel = kernel(p), n = count, pairCount = pairs.count
        let theta = kernel.inverseSquaredLengthScales
        // r² and the kernel shape per pair.
        var shapes = [Double](repeating: 0, count: pairCount), slopes = shapes
        var matrix = [Double](repeating: 0, count: n * n)
        squaredDifferences.withUnsafeBufferPointer { differences in
            for q in 0..<pairCount {
                var r2 = 0.0
                for d in 0..<dimension { r2 += theta[d] * differences[d * pairCount + q] }
                shapes[q] = MaternKernel.shape(squaredDistance: r2)
                slopes[q] = MaternKernel.shapeDerivative(squaredDistance: r2)
                let (i, j) = pairs[q]
                matrix[i + j * n] = kernel.scale * shapes[q]
                matrix[j + i * n] = matrix[i + j * n]
            }
        }
        for i in 0..<n { matrix[i + i * n] = kernel.scale + kernel.noise }
        guard let cholesky = Cholesky(matrix, n: n) else {
            return (.infinity, [Double](repeating: 0, count: dimension + 2))
        }
        let alpha = cholesky.solve(targets)
        let inverse = cholesky.inverse()
        let fit = zip(targets, alpha).reduce(0) { $0 + $1.0 * $1.1 }
        let logLikelihood = -0.5 * fit - 0.5 * cholesky.logDeterminant - 0.5 * Double(n) * log(2 * Double.pi)

        // W = ααᵀ − K⁻¹; pairs count twice in the trace, which cancels the ½.
        var gradient = [Double](repeating: 0, count: dimension + 2)
        var scaleTrace = 0.0, noiseTrace = 0.0
        for i in 0..<n {
            let w = alpha[i] * alpha[i] - inverse[i + i * n]
            scaleTrace += 0.5 * w * kernel.scale
            noiseTrace += 0.5 * w
        }
        var weightedSlopes = [Double](repeating: 0, count: pairCount)
        for q in 0..<pairCount {
            let (i, j) = pairs[q]
            let w = alpha[i] * alpha[j] - inverse[i + j * n]
            scaleTrace += w * kernel.scale * shapes[q]
            weightedSlopes[q] = w * kernel.scale * slopes[q]
        }
        squaredDifferences.withUnsafeBufferPointer { differences in
            for d in 0..<dimension {
                var total = 0.0
                for q in 0..<pairCount { total += weightedSlopes[q] * differences[d * pairCount + q] }
                gradient[d] = theta[d] * total
            }
        }
        gradient[dimension] = scaleTrace
        let noiseExcess = kernel.noise - minimumNoise
        gradient[dimension + 1] = noiseTrace * noiseExcess

        // Log priors and their gradients in log space.
        var logPrior = 0.0
        for d in 0..<dimension {
            logPrior -= 0.1 / theta[d] + 0.1 * theta[d]
            gradient[d] += 0.1 / theta[d] - 0.1 * theta[d]
        }
        logPrior += log(kernel.scale) - kernel.scale
        gradient[dimension] += 1 - kernel.scale
        logPrior += 0.1 * log(kernel.noise) - 30 * kernel.noise
        gradient[dimension + 1] += (0.1 / kernel.noise - 30) * noiseExcess
        return (-(logLikelihood + logPrior), gradient.map { -$0 })
    }

    /// Bounds of the log-space search: length scales from about 0.007 to 30 cube widths,
    /// s from e⁻⁷ to e⁵, the noise excess from e⁻²⁵ to e².
    var bounds: (lower: [Double], upper: [Double]) {
        (Array(repeating: -7, count: dimension) + [-7, -25], Array(repeating: 10, count: dimension) + [5, 2])
    }

    /// The kernel maximizing the posterior, from the default start (every θ = 1, s = 1,
    /// σ² = 0.01) and `restarts` − 1 random ones, by boxed L-BFGS; the best fit wins.
    func fit(restarts: Int, generator: inout RandomGenerator) -> MaternKernel {
        let (lower, upper) = bounds
        var starts = [Array(repeating: 0, count: dimension) + [0, log(0.01)]]
        for _ in 1..<max(restarts, 1) {
            starts.append((0..<dimension).map { _ in -2 + 7 * generator.nextUnit() }
                          + [-1 + 2 * generator.nextUnit(), log(1e-6) + (log(0.1) - log(1e-6)) * generator.nextUnit()])
        }
        var optimizer = BoxedLBFGS()
        optimizer.initialStep = 1
        optimizer.maximumIterations = 60
        optimizer.functionTolerance = 1e-8
        var best = starts[0], bestValue = Double.infinity
        for start in starts {
            let (x, value) = optimizer.minimize(from: start, lower: lower, upper: upper, negativeLogPosterior)
            if value < bestValue { best = x; bestValue = value }
        }
        return kernel(best)
    }
}

extension RandomGenerator {
    /// A uniform draw in [0, 1) with 53 random bits.
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
