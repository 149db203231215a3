import FlockTensor
import Foundation

/// Expectation maximization for a Gaussian mixture (Dempster, Laird & Rubin 1977; as
/// scikit-learn's `GaussianMixture(covariance_type="full")`).
extension GaussianMixture {
    /// A mixture of `components` Gaussians fitted to the N rows of `points` (N, D) by EM,
    /// deterministic for a `seed`: means start at k-means++ seeds (Arthur & Vassilvitskii
    /// 2007) drawn from `seed`, every covariance at the points' covariance, weights equal;
    /// it stops when the mean log-likelihood per point gains less than `tolerance`, or
    /// after `maxIterations`. Each covariance gets 10⁻⁶ × the points' mean variance on its
    /// diagonal, so a component on a few points stays positive definite.
    ///
    /// Throws `ConfigError` (path `components`) for fewer than one component or more
    /// components than points, and (path `points`) for points that are not finite or not a
    /// (N, D) matrix.
    public static func fit(_ points: Tensor, components: Int, seed: UInt64, maxIterations: Int = 500,
                           tolerance: Double = 1e-6) throws -> GaussianMixture {
        guard points.rank == 2, points.shape[1] > 0 else {
            throw ConfigError(path: "points", "expected a (N, D) matrix with D ≥ 1, got shape \(points.shape)")
        }
        let rows = points.shape[0], d = points.shape[1]
        guard components >= 1, components <= rows else {
            throw ConfigError(path: "components", "expected 1 to \(rows) (the number of points), got \(components)")
        }
        if let bad = points.scalars.firstIndex(where: { !$0.isFinite }) {
            throw ConfigError(path: "points", "row \(bad / d) holds \(points.scalars[bad]): every value must be finite")
        }
        return try expectationMaximization(points.scalars.map(Double.init), dimension: d, components: components, seed: seed,
                                           maxIterations: maxIterations, tolerance: tolerance)
    }

    private static func expectationMaximization(_ x: [Double], dimension d: Int, components k: Int, seed: UInt64,
                                                maxIterations: Int, tolerance: Double) throws -> GaussianMixture {
        let rows = x.count / d
        let (_, globalCovariance) = weightedMoments(x, dimension: d, responsibilities: [Double](repeating: 1, count: rows))
        let meanVariance = (0..<d).reduce(0) { $0 + globalCovariance[$1 * d + $1] } / Double(d)
        let regularization = 1e-6 * (meanVariance > 0 ? meanVariance : 1)
        let start = diagonalAdded(globalCovariance, regularization, dimension: d)
        guard var mixture = GaussianMixture(weights: [Double](repeating: 1 / Double(k), count: k),
                                            means: kMeansPlusPlusSeeds(x, dimension: d, count: k, seed: seed),
                                            covariances: [[Double]](repeating: start, count: k)) else {
            throw ConfigError(path: "points", "their covariance is not positive definite")
        }
        var previous = -Double.infinity
        for _ in 0..<maxIterations {
            let (responsibilities, logLikelihood) = mixture.responsibilities(x)
            var weights: [Double] = [], means: [[Double]] = [], covariances: [[Double]] = []
            for component in 0..<k {
                let column = stride(from: component, to: responsibilities.count, by: k).map { responsibilities[$0] }
                let (mean, covariance) = weightedMoments(x, dimension: d, responsibilities: column)
                weights.append(column.reduce(0, +) / Double(rows))
                means.append(mean)
                covariances.append(diagonalAdded(covariance, regularization, dimension: d))
            }
            let total = weights.reduce(0, +)
            guard let next = GaussianMixture(weights: weights.map { $0 / total }, means: means, covariances: covariances) else {
                throw ConfigError(path: "points", "a component's covariance lost positive definiteness")
            }
            mixture = next
            if (logLikelihood - previous) / Double(rows) < tolerance { break }
            previous = logLikelihood
        }
        return mixture
    }

    /// (N, K) posterior probabilities of each component for each point, and the total log-likelihood.
    func responsibilities(_ x: [Double]) -> (responsibilities: [Double], logLikelihood: Double) {
        var weighted = weightedLogDensities(x)
        var total = 0.0
        for start in stride(from: 0, to: weighted.count, by: components) {
            let normalizer = Self.logSumExp(weighted[start..<(start + components)])
            total += normalizer
            for index in start..<(start + components) { weighted[index] = Foundation.exp(weighted[index] - normalizer) }
        }
        return (weighted, total)
    }

    /// The mean (D) and covariance (D·D) of the rows of `x` weighted by `responsibilities`
    /// (N); a weight sum below 10⁻¹⁰ counts as 10⁻¹⁰ (an emptied component).
    static func weightedMoments(_ x: [Double], dimension d: Int, responsibilities r: [Double]) -> ([Double], [Double]) {
        let total = max(r.reduce(0, +), 1e-10)
        var mean = [Double](repeating: 0, count: d), covariance = [Double](repeating: 0, count: d * d)
        var centred = [Double](repeating: 0, count: d)
        x.withUnsafeBufferPointer { x in
            for (row, weight) in r.enumerated() where weight > 0 {
                for i in 0..<d { mean[i] += weight * x[row * d + i] }
            }
            for i in 0..<d { mean[i] /= total }
            covariance.withUnsafeMutableBufferPointer { c in
                for (row, weight) in r.enumerated() where weight > 0 {
                    for i in 0..<d { centred[i] = x[row * d + i] - mean[i] }
                    for i in 0..<d { for j in i..<d { c[i * d + j] += weight * centred[i] * centred[j] } }
                }
            }
        }
        for i in 0..<d { for j in i..<d { covariance[i * d + j] /= total; covariance[j * d + i] = covariance[i * d + j] } }
        return (mean, covariance)
    }

    static func diagonalAdded(_ matrix: [Double], _ value: Double, dimension d: Int) -> [Double] {
        var result = matrix
        for i in 0..<d { result[i * d + i] += value }
        return result
    }

    /// `count` rows of `x` as starting means: the first uniformly, each next with
    /// probability proportional to its squared distance from the nearest chosen one.
    static func kMeansPlusPlusSeeds(_ x: [Double], dimension d: Int, count: Int, seed: UInt64) -> [[Double]] {
        var generator = RandomGenerator(seed: seed)
        let rows = x.count / d
        let point = { (row: Int) in Array(x[(row * d)..<((row + 1) * d)]) }
        var seeds = [point(Int(generator.next() % UInt64(rows)))]
        var nearest = [Double](repeating: .infinity, count: rows)
        while seeds.count < count {
            let latest = seeds[seeds.count - 1]
            for row in 0..<rows {
                let distance = (0..<d).reduce(0) { $0 + (x[row * d + $1] - latest[$1]) * (x[row * d + $1] - latest[$1]) }
                nearest[row] = min(nearest[row], distance)
            }
            let total = nearest.reduce(0, +)
            // All remaining points coincide with a seed: take the next row in order.
            guard total > 0 else { seeds.append(point(seeds.count % rows)); continue }
            var target = Double(generator.next() >> 11) / 9_007_199_254_740_992.0 * total
            let chosen = nearest.firstIndex { target -= $0; return target < 0 } ?? rows - 1
            seeds.append(point(chosen))
        }
        return seeds
    }
}
