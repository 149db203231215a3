import Foundation

/// The logarithm of expected improvement, computed so that it stays finite and accurate
/// where EI itself underflows (Ament et al., "Unexpected Improvements to Expected
/// Improvement for Bayesian Optimization", NeurIPS 2023). For a minimized objective with
/// posterior N(μ, σ²) and incumbent best y*:
///
///     EI = σ · h(z),   z = (y* − μ)/σ,   h(z) = φ(z) + z·Φ(z)
///
/// so log EI = log σ + log h(z).
enum LogExpectedImprovement {
    /// Below this z, h is taken from its asymptotic series instead of φ + zΦ (which
    /// cancels to nothing as z → −∞).
    static let asymptoticBelow = -25.0

    /// log h(z), h(z) = E[max(0, z + ξ)] for ξ ~ N(0, 1).
    static func logH(_ z: Double) -> Double {
        if z >= asymptoticBelow {
            return log(normalDensity(z) + z * normalCumulative(z))
        }
        // h(z) = φ(z)·(1/z² − 3/z⁴ + 15/z⁶ − 105/z⁸ + …) (Mills' ratio expansion), no cancellation.
        let inverse = 1 / (z * z)
        let series = inverse * (1 - inverse * (3 - inverse * (15 - inverse * 105)))
        return -0.5 * z * z - 0.5 * log(2 * Double.pi) + log(series)
    }

    /// d log h / dz = Φ(z)/h(z) (since h′ = Φ).
    static func logHDerivative(_ z: Double) -> Double {
        if z >= asymptoticBelow {
            return normalCumulative(z) / (normalDensity(z) + z * normalCumulative(z))
        }
        // Φ/φ ≈ (1/|z|)(1 − 1/z² + 3/z⁴ − 15/z⁶) and h/φ ≈ (1/z²)(1 − 3/z² + 15/z⁴ − 105/z⁶).
        let inverse = 1 / (z * z)
        let cumulative = 1 - inverse * (1 - inverse * (3 - inverse * 15))
        let improvement = 1 - inverse * (3 - inverse * (15 - inverse * 105))
        return abs(z) * cumulative / improvement
    }

    /// log EI at a posterior N(mean, variance) against the incumbent `best` (lower is better).
    static func value(mean: Double, variance: Double, best: Double) -> Double {
        let sigma = variance.squareRoot()
        return log(sigma) + logH((best - mean) / sigma)
    }

    /// log EI and its gradient, given the posterior's mean and variance gradients.
    static func valueAndGradient(mean: Double, variance: Double, meanGradient: [Double], varianceGradient: [Double],
                                 best: Double) -> (value: Double, gradient: [Double]) {
        let sigma = variance.squareRoot()
        let z = (best - mean) / sigma
        let slope = logHDerivative(z)
        // ∂σ/∂x = ∂σ²/∂x / 2σ;  ∂z/∂x = −∂μ/∂x/σ − z·∂σ/∂x/σ.
        let gradient = zip(meanGradient, varianceGradient).map { meanSlope, varianceSlope in
            let sigmaSlope = varianceSlope / (2 * sigma)
            return sigmaSlope / sigma + slope * (-meanSlope / sigma - z * sigmaSlope / sigma)
        }
        return (log(sigma) + logH(z), gradient)
    }

    static func normalDensity(_ z: Double) -> Double { exp(-0.5 * z * z) / (2 * Double.pi).squareRoot() }

    static func normalCumulative(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }
}
