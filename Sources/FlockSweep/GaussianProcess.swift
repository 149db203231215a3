import CBLAS
import Foundation

/// A Gaussian process with a constant prior mean and a Matérn 5/2 kernel conditioned on
/// observations: inputs in the unit cube, targets standardized (mean 0, variance 1).
/// Predicts the latent function's mean and variance (without the noise), with their gradients.
struct GaussianProcess {
    /// The constant the latent function is expected to equal far from every observation.
    enum PriorMean {
        case constant(Double)
        /// μ̂ = 1ᵀK⁻¹y / 1ᵀK⁻¹1, the generalized least-squares estimate ("ordinary kriging",
        /// Rasmussen & Williams § 2.7): observations that the kernel correlates share their
        /// weight, so a cluster of trials around the incumbent counts about as one trial and
        /// the mean far away stays at the level of the rest of the space. The plain average
        /// of the targets would drift toward the cluster, predicting good values in every
        /// unexplored corner, where the variance is largest, and so send trials there.
        case generalizedLeastSquares
    }

    let kernel: MaternKernel
    /// μ, in target units: the prediction is μ + k(x)ᵀK⁻¹(y − μ).
    let priorMean: Double
    /// n observations of d inputs, (n, d) row-major.
    let points: [Double]
    let count: Int
    let dimension: Int
    let cholesky: Cholesky
    /// K⁻¹·(y − μ), (n): the posterior mean is μ + k(x)ᵀ·weights.
    let weights: [Double]

    /// nil when the kernel matrix is not positive definite even with 100× its noise.
    init?(kernel: MaternKernel, points: [[Double]], targets: [Double], mean: PriorMean = .constant(0)) {
        precondition(!points.isEmpty && points.count == targets.count, "a GP needs one target per point")
        let n = points.count, d = points[0].count
        let flat = points.flatMap { $0 }
        var jitter = 0.0
        var factor: Cholesky?
        // Near-duplicate points make K singular up to rounding; a little more diagonal
        // noise is what the noise term would have fitted anyway.
        for attempt in 0..<3 {
            factor = Cholesky(Self.covarianceMatrix(kernel, flat, n: n, d: d, extraNoise: jitter), n: n)
            if factor != nil { break }
            jitter = max(kernel.noise, 1e-10) * pow(10, Double(attempt + 1))
        }
        guard let factor else { return nil }
        self.kernel = kernel
        self.points = flat
        count = n
        dimension = d
        cholesky = factor
        let mu: Double
        switch mean {
        case let .constant(value): mu = value
        case .generalizedLeastSquares:
            let spread = factor.solve([Double](repeating: 1, count: n))  // K⁻¹1
            let total = spread.reduce(0, +)
            mu = total > 0 ? zip(spread, targets).reduce(0) { $0 + $1.0 * $1.1 } / total : 0
        }
        priorMean = mu
        weights = factor.solve(targets.map { $0 - mu })
    }

    /// K + σ²·I, (n, n); `extraNoise` adds to σ².
    static func covarianceMatrix(_ kernel: MaternKernel, _ points: [Double], n: Int, d: Int, extraNoise: Double = 0) -> [Double] {
        var matrix = [Double](repeating: 0, count: n * n)
        points.withUnsafeBufferPointer { p in
            for i in 0..<n {
                matrix[i + i * n] = kernel.scale + kernel.noise + extraNoise
                let a = UnsafeBufferPointer(rebasing: p[(i * d)..<(i * d + d)])
                for j in 0..<i {
                    let b = UnsafeBufferPointer(rebasing: p[(j * d)..<(j * d + d)])
                    let value = kernel.scale * MaternKernel.shape(squaredDistance: kernel.squaredDistance(a, b))
                    matrix[i + j * n] = value
                    matrix[j + i * n] = value
                }
            }
        }
        return matrix
    }

    /// k(x, pointᵢ) for every observation, (n); with `gradient`, also ∂k/∂x, (n, d) row-major.
    private func crossCovariance(_ x: [Double], gradient: Bool) -> (values: [Double], gradient: [Double]) {
        var values = [Double](repeating: 0, count: count)
        var derivatives = [Double](repeating: 0, count: gradient ? count * dimension : 0)
        let d = dimension
        x.withUnsafeBufferPointer { x in
            points.withUnsafeBufferPointer { p in
                for i in 0..<count {
                    let point = UnsafeBufferPointer(rebasing: p[(i * d)..<(i * d + d)])
                    let r2 = kernel.squaredDistance(x, point)
                    values[i] = kernel.scale * MaternKernel.shape(squaredDistance: r2)
                    guard gradient else { continue }
                    let slope = kernel.scale * MaternKernel.shapeDerivative(squaredDistance: r2)
                    for k in 0..<d {
                        derivatives[i * d + k] = slope * 2 * kernel.inverseSquaredLengthScales[k] * (x[k] - point[k])
                    }
                }
            }
        }
        return (values, derivatives)
    }

    /// The posterior mean and variance of the latent function at `x` (d).
    func predict(_ x: [Double]) -> (mean: Double, variance: Double) {
        var v = crossCovariance(x, gradient: false).values
        let mean = priorMean + zip(v, weights).reduce(0) { $0 + $1.0 * $1.1 }
        cholesky.solveLower(&v)
        let explained = v.reduce(0) { $0 + $1 * $1 }
        return (mean, max(kernel.scale - explained, 0))
    }

    /// The posterior mean and variance at `x` and their gradients with respect to x, (d) each:
    /// ∂μ/∂x = Σᵢ wᵢ ∂kᵢ/∂x, ∂σ²/∂x = −2 (K⁻¹k)ᵀ ∂k/∂x.
    func predictWithGradient(_ x: [Double]) -> (mean: Double, variance: Double, meanGradient: [Double], varianceGradient: [Double]) {
        let (k, dk) = crossCovariance(x, gradient: true)
        var v = k
        cholesky.solveLower(&v)
        let explained = v.reduce(0) { $0 + $1 * $1 }
        var solved = v
        cholesky.solveUpper(&solved)
        var meanGradient = [Double](repeating: 0, count: dimension)
        var varianceGradient = [Double](repeating: 0, count: dimension)
        var mean = priorMean
        for i in 0..<count {
            mean += weights[i] * k[i]
            for d in 0..<dimension {
                meanGradient[d] += weights[i] * dk[i * dimension + d]
                varianceGradient[d] -= 2 * solved[i] * dk[i * dimension + d]
            }
        }
        return (mean, max(kernel.scale - explained, 0), meanGradient, varianceGradient)
    }

    /// Posterior means and variances at many points at once: one triangular solve with
    /// every candidate as a column (BLAS level 3).
    func predict(batch xs: [[Double]]) -> [(mean: Double, variance: Double)] {
        guard !xs.isEmpty else { return [] }
        var columns = [Double](repeating: 0, count: count * xs.count)
        for (c, x) in xs.enumerated() {
            let k = crossCovariance(x, gradient: false).values
            columns.replaceSubrange((c * count)..<((c + 1) * count), with: k)
        }
        var means = [Double](repeating: 0, count: xs.count)
        cblas_dgemv(CblasColMajor, CblasTrans, Int32(count), Int32(xs.count), 1, columns, Int32(count),
                    weights, 1, 0, &means, 1)
        cholesky.solveLower(&columns, columns: xs.count)
        return (0..<xs.count).map { c in
            var explained = 0.0
            for i in 0..<count { explained += columns[c * count + i] * columns[c * count + i] }
            return (priorMean + means[c], max(kernel.scale - explained, 0))
        }
    }
}
