/// A trial's learning curve as pruners see it: step (epoch, 1-based) → value, oriented so
/// that lower is better.
public struct LearningCurve: Sendable, Equatable {
    public let number: Int
    public let values: [Int: Double]
    /// Whether the trial ran to the end (pruned and running trials have partial curves).
    public let isComplete: Bool

    public init(number: Int, values: [Int: Double], isComplete: Bool) {
        self.number = number
        self.values = values
        self.isComplete = isComplete
    }
}

/// Decides, after a trial reports step `step`, whether to stop it now.
public protocol Pruner: Sendable {
    func shouldPrune(_ trial: LearningCurve, step: Int, others: [LearningCurve]) -> Bool
}

/// Never prunes.
public struct NoPruner: Pruner {
    public init() {}
    public func shouldPrune(_ trial: LearningCurve, step: Int, others: [LearningCurve]) -> Bool { false }
}

/// Optuna's MedianPruner: after `warmupSteps`, prune when the trial's best value so far is
/// worse than the median of the completed trials' values at the same step (once at least
/// `startupTrials` trials have completed).
public struct MedianPruner: Pruner {
    public let startupTrials: Int
    public let warmupSteps: Int

    public init(startupTrials: Int = 5, warmupSteps: Int = 0) {
        self.startupTrials = startupTrials
        self.warmupSteps = warmupSteps
    }

    public func shouldPrune(_ trial: LearningCurve, step: Int, others: [LearningCurve]) -> Bool {
        guard step > warmupSteps else { return false }
        let completed = others.filter { $0.isComplete && $0.number != trial.number }
        guard completed.count >= startupTrials else { return false }
        let atStep = completed.compactMap { $0.values[step] }.sorted()
        guard !atStep.isEmpty, let best = trial.values.filter({ $0.key <= step }).map(\.value).min() else { return false }
        let middle = atStep.count / 2
        let median = atStep.count % 2 == 1 ? atStep[middle] : (atStep[middle - 1] + atStep[middle]) / 2
        return best > median
    }
}

/// Asynchronous successive halving (ASHA; Li et al. 2020), as Optuna's
/// SuccessiveHalvingPruner: rung k sits at step min_resource · η^(k + s). A trial that
/// reaches a rung goes on only if its value there is among the best 1/η of all values
/// recorded at that rung so far (the best one when fewer than η trials got there);
/// otherwise it is pruned.
public struct SuccessiveHalvingPruner: Pruner {
    public let minResource: Int
    public let reductionFactor: Int
    /// s: skips the first s rungs (Hyperband's brackets use it).
    public let minEarlyStoppingRate: Int

    public init(minResource: Int = 1, reductionFactor: Int = 3, minEarlyStoppingRate: Int = 0) {
        precondition(minResource > 0 && reductionFactor > 1, "ASHA needs min_resource > 0 and reduction_factor > 1")
        self.minResource = minResource
        self.reductionFactor = reductionFactor
        self.minEarlyStoppingRate = minEarlyStoppingRate
    }

    /// The rung at `step`, if a rung sits there.
    func rung(at step: Int) -> Int? {
        var rungStep = minResource
        for _ in 0..<minEarlyStoppingRate { rungStep *= reductionFactor }
        var k = 0
        while rungStep <= step {
            if rungStep == step { return k }
            rungStep *= reductionFactor
            k += 1
        }
        return nil
    }

    public func shouldPrune(_ trial: LearningCurve, step: Int, others: [LearningCurve]) -> Bool {
        guard rung(at: step) != nil, let value = trial.values[step] else { return false }
        let competing = (others.filter { $0.number != trial.number }.compactMap { $0.values[step] } + [value]).sorted()
        let promotable = max(competing.count / reductionFactor - 1, 0)
        return value > competing[promotable]
    }
}

/// Hyperband (Li et al. 2018), as Optuna's HyperbandPruner: several successive-halving
/// brackets with different early-stopping rates, from aggressive to none; a trial belongs
/// to bracket (number mod brackets) and competes only with trials of its bracket.
public struct HyperbandPruner: Pruner {
    public let minResource: Int
    public let maxResource: Int
    public let reductionFactor: Int

    public init(minResource: Int = 1, maxResource: Int, reductionFactor: Int = 3) {
        self.minResource = minResource
        self.maxResource = max(maxResource, minResource)
        self.reductionFactor = reductionFactor
    }

    /// ⌊log_η(max/min)⌋ + 1.
    public var bracketCount: Int {
        var count = 1, resource = minResource
        while resource * reductionFactor <= maxResource { resource *= reductionFactor; count += 1 }
        return count
    }

    public func bracket(of number: Int) -> Int { number % bracketCount }

    public func shouldPrune(_ trial: LearningCurve, step: Int, others: [LearningCurve]) -> Bool {
        let bracket = bracket(of: trial.number)
        let halving = SuccessiveHalvingPruner(minResource: minResource, reductionFactor: reductionFactor,
                                              minEarlyStoppingRate: bracket)
        return halving.shouldPrune(trial, step: step, others: others.filter { self.bracket(of: $0.number) == bracket })
    }
}
