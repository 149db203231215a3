import FlockTensor
import Foundation

/// Product kernels of truncated Gaussians, one per observation plus a wide prior centred in
/// the box. A kernel's width along a dimension is Scott's rule, magnitude·n^(−1/(d+4))·range,
/// or the distance to the nearest other observation along that dimension when smaller (tight
/// clusters get tight kernels), but never below `minimumBandwidth`·range.
struct ParzenEstimator {
    let means: [[Double]]
    let sigmas: [[Double]]
    let ranges: [(Double, Double)]
    /// Mixture weights, observations first, then the prior; they sum to 1.
    let weights: [Double]

    /// `weights`: relative weights of the observations (uniform when nil or all zero); the
    /// prior weighs `priorWeight` against a total of n for the observations.
    init(observations: [[Double]], weights observationWeights: [Double]? = nil, ranges: [(Double, Double)],
         magnitude: Double, minimumBandwidth: Double, priorWeight: Double) {
        self.ranges = ranges
        let n = observations.count, d = ranges.count
        let scale = magnitude * pow(Double(max(n, 1)), -1 / Double(d + 4))
        var sigmas: [[Double]] = observations.enumerated().map { i, point in
            ranges.indices.map { dim in
                let range = max(ranges[dim].1 - ranges[dim].0, 1e-12)
                var nearest = range
                for (j, other) in observations.enumerated() where j != i { nearest = min(nearest, abs(other[dim] - point[dim])) }
                return min(max(min(scale * range, nearest), minimumBandwidth * range, 1e-9 * range), range)
            }
        }
        sigmas.append(ranges.map { max($0.1 - $0.0, 1e-12) })
        self.sigmas = sigmas
        means = observations + [ranges.map { 0.5 * ($0.0 + $0.1) }]
        let given = observationWeights ?? []
        let relative = given.count == n && given.reduce(0, +) > 0 ? given : Array(repeating: 1, count: n)
        let sum = relative.reduce(0, +)
        let mixture = relative.map { $0 * Double(n) / sum } + [priorWeight]
        let total = mixture.reduce(0, +)
        weights = mixture.map { $0 / total }
    }

    func sample(_ generator: inout RandomGenerator) -> [Double] {
        let u = Double(generator.next() >> 11) / Double(1 << 53)
        var component = means.count - 1, cumulative = 0.0
        for (i, weight) in weights.enumerated() {
            cumulative += weight
            if u < cumulative { component = i; break }
        }
        return ranges.indices.map { d in
            let (low, high) = ranges[d], mean = means[component][d], sigma = sigmas[component][d]
            let a = Gaussian.cdf((low - mean) / sigma), b = Gaussian.cdf((high - mean) / sigma)
            let v = Double(generator.next() >> 11) / Double(1 << 53)
            let p = min(max(a + v * (b - a), 1e-12), 1 - 1e-12)
            return min(max(mean + sigma * Gaussian.inverseCDF(p), low), high)
        }
    }

    func logDensity(_ x: [Double]) -> Double {
        var terms: [Double] = []
        for i in means.indices {
            var total = log(max(weights[i], 1e-300))
            for d in ranges.indices {
                let (low, high) = ranges[d], mean = means[i][d], sigma = sigmas[i][d]
                let z = (x[d] - mean) / sigma
                let mass = max(Gaussian.cdf((high - mean) / sigma) - Gaussian.cdf((low - mean) / sigma), 1e-300)
                total += -0.5 * z * z - log(sigma * (2 * Double.pi).squareRoot()) - log(mass)
            }
            terms.append(total)
        }
        let peak = terms.max() ?? -Double.infinity
        return peak + log(terms.reduce(0) { $0 + exp($1 - peak) })
    }
}

/// Category frequencies among the observations, smoothed by one pseudo-count spread
/// evenly (Optuna's prior weight 1).
struct CategoricalParzen {
    let probabilities: [Double]

    init(observations: [Int], categories: Int) {
        var weights = [Double](repeating: 1 / Double(categories), count: categories)
        for index in observations { weights[index] += 1 }
        let total = weights.reduce(0, +)
        probabilities = weights.map { $0 / total }
    }

    func probability(_ index: Int) -> Double { probabilities[index] }

    func sample(_ generator: inout RandomGenerator) -> Int {
        let u = Double(generator.next() >> 11) / Double(1 << 53)
        var cumulative = 0.0
        for (i, p) in probabilities.enumerated() {
            cumulative += p
            if u < cumulative { return i }
        }
        return probabilities.count - 1
    }
}

/// The standard normal distribution, for truncated-Gaussian kernels.
enum Gaussian {
    static func cdf(_ z: Double) -> Double { 0.5 * erfc(-z / 2.0.squareRoot()) }

    /// Acklam's rational approximation, refined by one Newton step.
    static func inverseCDF(_ p: Double) -> Double {
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02,
                 -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01,
                 -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00,
                 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        var x: Double
        if p < 0.02425 {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p > 1 - 0.02425 {
            let q = (-2 * log(1 - p)).squareRoot()
            x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        }
        let error = cdf(x) - p
        return x - error * (2 * Double.pi).squareRoot() * exp(x * x / 2)
    }
}
