import FlockTrain
import Foundation

/// Standard black-box optimisation test functions, for the sampler benchmark and tests.
public enum TestFunctions {
    /// Branin–Hoo on x1 ∈ [−5, 10], x2 ∈ [0, 15]; global minimum 0.397887.
    public static func branin(_ x1: Double, _ x2: Double) -> Double {
        let a = 1.0, b = 5.1 / (4 * Double.pi * Double.pi), c = 5 / Double.pi, r = 6.0, s = 10.0, t = 1 / (8 * Double.pi)
        let term = x2 - b * x1 * x1 + c * x1 - r
        return a * term * term + s * (1 - t) * cos(x1) + s
    }

    public static let braninMinimum = 0.397887

    public static let braninSpace = SearchSpace([
        ParameterSpec(name: "x1", domain: .float(low: -5, high: 10, log: false)),
        ParameterSpec(name: "x2", domain: .float(low: 0, high: 15, log: false)),
    ])

    /// Hartmann 6-D on [0, 1]⁶; global minimum −3.32237.
    public static func hartmann6(_ x: [Double]) -> Double {
        let alpha = [1.0, 1.2, 3.0, 3.2]
        let a: [[Double]] = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                             [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
        let p: [[Double]] = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
                             [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
                             [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
                             [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]
        var total = 0.0
        for i in 0..<4 {
            var exponent = 0.0
            for j in 0..<6 { exponent += a[i][j] * (x[j] - p[i][j]) * (x[j] - p[i][j]) }
            total += alpha[i] * exp(-exponent)
        }
        return -total
    }

    public static let hartmann6Minimum = -3.32237

    public static let hartmann6Space = SearchSpace((0..<6).map {
        ParameterSpec(name: "x\($0)", domain: .float(low: 0, high: 1, log: false))
    })

    /// The best value found by `sampler` in `trials` trials of `objective` (lower is better).
    /// With `workers` > 1 it simulates that many workers: `workers` trials are pending at
    /// once, the oldest finishes next, and each suggestion sees the others as pending.
    public static func minimize(_ sampler: any Sampler, space: SearchSpace, trials: Int, workers: Int = 1,
                                _ objective: ([String: ParameterValue]) -> Double) -> Double {
        var observations: [SamplerHistory.Observation] = []
        var suggested = Set<[String: ParameterValue]>()
        var pending: [[String: ParameterValue]] = []
        var best = Double.infinity, number = 0, exhausted = false
        while !pending.isEmpty || (number < trials && !exhausted) {
            if number < trials && !exhausted && pending.count < workers {
                let history = SamplerHistory(observations: observations, suggested: suggested, pending: pending)
                if let params = sampler.suggest(space: space, history: history, number: number) {
                    suggested.insert(params)
                    pending.append(params)
                    number += 1
                } else {
                    exhausted = true
                }
                continue
            }
            let params = pending.removeFirst()
            let value = objective(params)
            observations.append(.init(params: params, loss: value))
            best = min(best, value)
        }
        return best
    }
}
