import FlockTensor
import FlockTrain
import Foundation

/// Bayesian optimization with a Gaussian process (Snoek et al., "Practical Bayesian
/// Optimization of Machine Learning Algorithms", 2012; the kernel, priors, start-up count
/// and acquisition search follow Optuna's `GPSampler`). The first `startupTrials` trials are
/// points of a scrambled Sobol sequence (`SobolSequence`, point `number`), which covers the
/// cube more evenly than Optuna's random ones. After them:
///
/// 1. the parameters active in every trial (those without conditions) are mapped to the
///    unit cube (`UnitCubeEncoding`: log parameters in log space, integers as continuous
///    coordinates, categoricals one-hot) and the losses standardized;
/// 2. a Matérn 5/2 kernel with one length scale per coordinate is fitted by maximizing the
///    marginal likelihood with weak priors (`MarginalLikelihood`), from `restarts` starts;
///    the GP's constant prior mean is then the generalized least-squares estimate, not the
///    average loss (Optuna's): trials clustered around the incumbent count about as one, so
///    unexplored regions are not predicted as good as the cluster (see `GaussianProcess.PriorMean`);
/// 3. trials still running (or waiting) join the GP at its own predicted mean — the
///    "kriging believer" form of constant liar (Ginsbourger et al. 2010): the GP becomes
///    certain there, their expected improvement drops to nothing, and N workers claiming
///    at once get N different suggestions;
/// 4. log expected improvement over the best trial is maximized: `candidates` uniform
///    random points, then boxed L-BFGS over the numeric coordinates from the best observed
///    point, the best candidate and `localSearches` − 2 candidates drawn with probability
///    ∝ EI (Optuna's roulette), each followed by trying every other choice of each
///    categorical; integers are rounded after the search.
///
/// Conditional parameters are not in the GP (a coordinate that exists in some trials only
/// has no honest value in the others): each active one is chosen as TPE chooses it, on
/// its own over the trials where it was set. Pruned trials count with the value they were
/// stopped at and failed ones are left out, as for TPE. Everything random comes from
/// (seed, trial number), so a suggestion is a function of the stored trials alone.
public struct GPSampler: Sampler {
    public let seed: UInt64
    public let startupTrials: Int
    /// Random points at which the acquisition is evaluated before the local search.
    public let candidates: Int
    /// Marginal-likelihood fits: the default start and `restarts` − 1 random ones.
    public var restarts = 3
    /// Starting points of the gradient-based refinement of the acquisition.
    public var localSearches = 10

    public static let defaultStartupTrials = 10
    public static let defaultCandidates = 2048

    public init(seed: UInt64 = 0, startupTrials: Int = GPSampler.defaultStartupTrials,
                candidates: Int = GPSampler.defaultCandidates) {
        self.seed = seed
        self.startupTrials = startupTrials
        self.candidates = candidates
    }

    public func suggest(space: SearchSpace, history: SamplerHistory, number: Int) -> [String: ParameterValue]? {
        fresh(history) { attempt in
            var generator = RandomGenerator(seed: seed, stream: UInt64(number) << 16 | UInt64(attempt))
            // A repeat (an integer rounded onto an earlier trial) falls back to a random draw.
            guard attempt == 0 else {
                return space.assemble { parameter, _ in SearchSpace.randomValue(parameter, using: &generator) }
            }
            guard history.observations.count >= startupTrials,
                  let modelled = modelledValues(space, history: history, generator: &generator) else {
                let designed = startupPoint(space, number: number)
                return space.assemble { parameter, _ in
                    designed[parameter.name] ?? SearchSpace.randomValue(parameter, using: &generator)
                }
            }
            let conditional = TPESampler(seed: seed)
            return space.assemble { parameter, _ in
                modelled[parameter.name] ?? conditional.sampleAlone(parameter, history: history, generator: &generator)
            }
        }
    }

    /// Point `number` of the seed's scrambled Sobol sequence over the unconditional parameters
    /// (conditional ones are left to random draws).
    func startupPoint(_ space: SearchSpace, number: Int) -> [String: ParameterValue] {
        let encoding = UnitCubeEncoding(space.parameters.filter { $0.conditions.isEmpty })
        var scrambling = RandomGenerator(seed: seed, stream: Self.designStream)
        var design = SobolSequence(dimension: encoding.dimension, generator: &scrambling)
        return encoding.decode(design.point(number))
    }

    /// The random stream of the start-up design's scrambling, apart from every trial's
    /// (number << 16 | attempt) stream: `fresh` makes at most 200 attempts, never 0x5167.
    static let designStream: UInt64 = 0xD35167

    /// The GP's choice of the unconditional parameters; nil with fewer than two finished trials.
    func modelledValues(_ space: SearchSpace, history: SamplerHistory,
                        generator: inout RandomGenerator) -> [String: ParameterValue]? {
        let encoding = UnitCubeEncoding(space.parameters.filter { $0.conditions.isEmpty })
        var points: [[Double]] = [], losses: [Double] = []
        for observation in history.observations {
            guard let x = encoding.encode(observation.params) else { continue }
            points.append(x)
            losses.append(observation.loss)
        }
        guard points.count >= 2, encoding.dimension > 0 else { return nil }
        let targets = Self.standardized(losses)
        let kernel = MarginalLikelihood(points: points, targets: targets).fit(restarts: restarts, generator: &generator)
        guard var process = GaussianProcess(kernel: kernel, points: points, targets: targets, mean: .generalizedLeastSquares)
        else { return nil }
        // Pending trials count as observed at the GP's own prediction, incumbent included:
        // a pending point predicted better than the best finished one becomes the incumbent,
        // so nothing is expected to improve on it where it already runs.
        let pending = history.pending.compactMap(encoding.encode)
        var allPoints = points, allTargets = targets
        if !pending.isEmpty {
            let believed = pending.map { process.predict($0).mean }
            if let conditioned = GaussianProcess(kernel: kernel, points: points + pending, targets: targets + believed,
                                                 mean: .constant(process.priorMean)) {
                process = conditioned
                allPoints += pending
                allTargets += believed
            }
        }
        let bestIndex = allTargets.indices.min { allTargets[$0] < allTargets[$1] }!
        let x = maximizeAcquisition(process, encoding: encoding, best: allTargets[bestIndex], bestPoint: allPoints[bestIndex],
                                    generator: &generator)
        return encoding.decode(x)
    }

    /// (loss − mean)/standard deviation; a constant objective gives zeros.
    static func standardized(_ values: [Double]) -> [Double] {
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        let deviation = variance > 0 ? variance.squareRoot() : 1
        return values.map { ($0 - mean) / deviation }
    }

    /// Variance added before taking σ, so that log EI stays finite at observed points.
    static let stabilizingVariance = 1e-12

    /// The point of the cube with the largest log EI found by random candidates and local refinement.
    func maximizeAcquisition(_ process: GaussianProcess, encoding: UnitCubeEncoding, best: Double, bestPoint: [Double],
                             generator: inout RandomGenerator) -> [Double] {
        func score(_ x: [Double]) -> Double {
            let (mean, variance) = process.predict(x)
            return LogExpectedImprovement.value(mean: mean, variance: variance + Self.stabilizingVariance, best: best)
        }
        let pool = (0..<candidates).map { _ in encoding.random(using: &generator) }
        let scores = process.predict(batch: pool).map {
            LogExpectedImprovement.value(mean: $0.mean, variance: $0.variance + Self.stabilizingVariance, best: best)
        }
        let top = pool.indices.max { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) }!
        let starts = [bestPoint, pool[top]]
            + Self.roulette(scores, excluding: top, count: localSearches - 2, generator: &generator).map { pool[$0] }

        var winner = pool[top], winnerScore = scores[top]
        for start in starts {
            var x = refineNumeric(start, process: process, encoding: encoding, best: best)
            var value = score(x)
            // Every other choice of each categorical, keeping whichever scores best.
            for block in encoding.categoricalBlocks {
                for choice in 0..<block.count {
                    var trial = x
                    for k in 0..<block.count { trial[block.first + k] = k == choice ? 1 : 0 }
                    let trialValue = score(trial)
                    if trialValue > value { x = trial; value = trialValue }
                }
            }
            if value > winnerScore { winner = x; winnerScore = value }
        }
        return winner
    }

    /// Up to `count` distinct indices drawn with probability ∝ exp(score − best score)
    /// (Optuna's roulette): starts spread over every promising region, not only the best one.
    static func roulette(_ scores: [Double], excluding excluded: Int, count: Int,
                         generator: inout RandomGenerator) -> [Int] {
        let top = scores[excluded]
        var weights = scores.enumerated().map { $0.offset == excluded || !$0.element.isFinite ? 0 : exp($0.element - top) }
        var chosen: [Int] = []
        while chosen.count < count {
            let total = weights.reduce(0, +)
            guard total > 0 else { break }
            var target = generator.nextUnit() * total, index = 0
            while index < weights.count - 1 && (weights[index] == 0 || target >= weights[index]) {
                target -= weights[index]
                index += 1
            }
            if weights[index] == 0 { break }
            chosen.append(index)
            weights[index] = 0
        }
        return chosen
    }

    /// `start` with its numeric coordinates moved by boxed L-BFGS to a local maximum of log EI.
    private func refineNumeric(_ start: [Double], process: GaussianProcess, encoding: UnitCubeEncoding, best: Double) -> [Double] {
        let numeric = encoding.numericIndices
        guard !numeric.isEmpty else { return start }
        var optimizer = BoxedLBFGS()
        optimizer.initialStep = 0.02
        optimizer.maximumIterations = 200
        optimizer.functionTolerance = 1e-12
        // Preconditioning (as Optuna's): search z = x/ℓ, in which the kernel is isotropic,
        // so one step size suits every coordinate. z ∈ [0, 1/ℓ].
        let lengths = numeric.map { 1 / process.kernel.inverseSquaredLengthScales[$0].squareRoot() }
        let zeros = [Double](repeating: 0, count: numeric.count)
        let (refined, _) = optimizer.minimize(from: numeric.indices.map { start[numeric[$0]] / lengths[$0] }, lower: zeros,
                                              upper: lengths.map { 1 / $0 }) { z in
            var x = start
            for (k, index) in numeric.enumerated() { x[index] = min(max(z[k] * lengths[k], 0), 1) }
            let prediction = process.predictWithGradient(x)
            let (value, gradient) = LogExpectedImprovement.valueAndGradient(
                mean: prediction.mean, variance: prediction.variance + Self.stabilizingVariance,
                meanGradient: prediction.meanGradient, varianceGradient: prediction.varianceGradient, best: best)
            return (-value, numeric.indices.map { -gradient[numeric[$0]] * lengths[$0] })
        }
        var x = start
        for (k, index) in numeric.enumerated() { x[index] = min(max(refined[k] * lengths[k], 0), 1) }
        return x
    }
}
