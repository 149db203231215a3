import Foundation

/// A parameter's value in a trial: a number, or a category's name.
public enum TrialParameterValue: Sendable, Equatable, Hashable {
    case number(Double)
    case category(String)

    public var text: String {
        switch self {
        case .number(let value): NumberText.format(value)
        case .category(let name): name
        }
    }
}

/// How much of the objective's variation across complete trials each parameter explains
/// on its own — the first-order ("main effect") part of fANOVA (Hutter et al., 2014),
/// estimated from the trials directly instead of from a fitted random forest:
///
/// 1. each parameter's trials are put into bins: one per category, one per distinct value
///    when there are at most 6, otherwise up to 5 bins of equal count by rank (so a log-scale
///    parameter is binned as evenly as a linear one);
/// 2. the bins' means of the objective give ω² = (SS_between − (k − 1)·MS_within) /
///    (SS_total + MS_within), the share of the variance explained by the bins with the
///    bias of few samples per bin taken out (0 for a parameter that does not matter;
///    η² = SS_between / SS_total alone grows with the bin count even for noise), floored at 0;
/// 3. the ω² are scaled to sum to 1 over the parameters.
///
/// Interactions between parameters are not separated (fANOVA's higher-order terms), and
/// with few trials the estimate is rough: the report says how many trials it used.
public enum ParameterImportance {
    public struct Estimate: Sendable, Equatable {
        public let parameter: String
        /// Share of the explained variance, 0–1, summing to 1 over the parameters (all 0
        /// when no parameter explains anything).
        public let importance: Double
        /// ω² of this parameter alone.
        public let explainedVariance: Double
    }

    /// `trials`: each complete trial's parameters and objective. Most important first;
    /// empty with fewer than 4 trials or an objective that does not vary.
    public static func estimate(_ trials: [(params: [String: TrialParameterValue], objective: Double)]) -> [Estimate] {
        let usable = trials.filter { $0.objective.isFinite }
        guard usable.count >= 4 else { return [] }
        let objectives = usable.map(\.objective)
        let mean = objectives.reduce(0, +) / Double(objectives.count)
        let total = objectives.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        guard total > 0 else { return [] }
        let names = Set(usable.flatMap(\.params.keys)).sorted()
        let omegas = names.map { name -> Double in
            let bins = bin(usable.map { $0.params[name] }, objectives: objectives)
            return omegaSquared(bins: bins, mean: mean, total: total, count: objectives.count)
        }
        let sum = omegas.reduce(0, +)
        return zip(names, omegas).map { Estimate(parameter: $0, importance: sum > 0 ? $1 / sum : 0, explainedVariance: $1) }
            .sorted { ($0.importance, $1.parameter) > ($1.importance, $0.parameter) }
    }

    /// The objectives grouped into bins of one parameter's values (absent values: one bin).
    static func bin(_ values: [TrialParameterValue?], objectives: [Double]) -> [[Double]] {
        let numbers = values.compactMap { value -> Double? in if case .number(let x) = value { return x }; return nil }
        if numbers.count == values.count && Set(numbers).count > 6 {
            let order = numbers.indices.sorted { numbers[$0] < numbers[$1] }
            let binCount = min(5, max(2, numbers.count / 4))
            var bins = Array(repeating: [Double](), count: binCount)
            for (rank, index) in order.enumerated() { bins[rank * binCount / order.count].append(objectives[index]) }
            return bins
        }
        var bins: [String: [Double]] = [:]
        for (value, objective) in zip(values, objectives) { bins[value?.text ?? "(absent)", default: []].append(objective) }
        return Array(bins.values)
    }

    private static func omegaSquared(bins: [[Double]], mean: Double, total: Double, count: Int) -> Double {
        let groups = bins.filter { !$0.isEmpty }
        guard groups.count > 1 else { return 0 }
        var between = 0.0, within = 0.0
        for group in groups {
            let groupMean = group.reduce(0, +) / Double(group.count)
            between += Double(group.count) * (groupMean - mean) * (groupMean - mean)
            within += group.reduce(0) { $0 + ($1 - groupMean) * ($1 - groupMean) }
        }
        let degreesWithin = count - groups.count
        let meanSquareWithin = degreesWithin > 0 ? within / Double(degreesWithin) : 0
        return max(0, (between - Double(groups.count - 1) * meanSquareWithin) / (total + meanSquareWithin))
    }
}
