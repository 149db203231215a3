import Foundation

/// Minimizes a smooth function inside a box by limited-memory BFGS (Nocedal & Wright,
/// "Numerical Optimization", alg. 7.4) with projection: coordinates held at a bound by a
/// gradient pointing outwards are frozen for the step, the quasi-Newton direction is taken
/// over the others, and the step is projected back into the box and backtracked until
/// it decreases the function enough (Armijo). A simpler relative of L-BFGS-B (Byrd et al.
/// 1995) that is enough for the GP's few dozen dimensions.
struct BoxedLBFGS {
    /// (s, y) pairs kept.
    var memory = 10
    var maximumIterations = 100
    /// Stop when an iteration improves f by less than this, relative to max(1, |f|).
    var functionTolerance = 1e-10
    /// Stop when the free part of the gradient is smaller than this in every coordinate.
    var gradientTolerance = 1e-8
    /// Without curvature information the first step moves at most this far in any coordinate.
    var initialStep = 0.1

    /// The minimizer found from `start` in [lower, upper] and its value; `objective` returns
    /// f(x) and ∇f(x), and may return a non-finite f where it cannot be evaluated.
    func minimize(from start: [Double], lower: [Double], upper: [Double],
                  _ objective: ([Double]) -> (value: Double, gradient: [Double])) -> (x: [Double], value: Double) {
        let d = start.count
        func project(_ x: [Double]) -> [Double] { (0..<d).map { min(max(x[$0], lower[$0]), upper[$0]) } }
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        var x = project(start)
        var (value, gradient) = objective(x)
        guard value.isFinite else { return (x, value) }
        var steps: [[Double]] = [], changes: [[Double]] = []
        for _ in 0..<maximumIterations {
            // Free: not pinned at a bound by a gradient that points out of the box.
            let free = (0..<d).map { i in !((x[i] <= lower[i] && gradient[i] > 0) || (x[i] >= upper[i] && gradient[i] < 0)) }
            let freeGradient = (0..<d).map { free[$0] ? gradient[$0] : 0 }
            let largest = freeGradient.map(abs).max() ?? 0
            if largest < gradientTolerance { break }
            var direction = Self.quasiNewtonDirection(freeGradient, steps: steps, changes: changes).enumerated().map { free[$0.offset] ? $0.element : 0 }
            if steps.isEmpty || dot(direction, gradient) >= 0 {
                steps = []; changes = []
                direction = freeGradient.map { -$0 * initialStep / largest }
            }
            guard let (next, nextValue, nextGradient) = lineSearch(x, value, gradient, direction, project, objective) else {
                if steps.isEmpty { break }
                steps = []; changes = []
                continue
            }
            let step = zip(next, x).map { $0 - $1 }, change = zip(nextGradient, gradient).map { $0 - $1 }
            if dot(step, change) > 1e-12 * dot(change, change).squareRoot() * dot(step, step).squareRoot() {
                steps.append(step); changes.append(change)
                if steps.count > memory { steps.removeFirst(); changes.removeFirst() }
            }
            let improvement = value - nextValue
            (x, value, gradient) = (next, nextValue, nextGradient)
            if improvement <= functionTolerance * max(1, abs(value)) { break }
        }
        return (x, value)
    }

    /// Backtracks along the projected path x + t·direction (t = 1, ½, ¼, …) until f drops
    /// by at least 10⁻⁴ of the first-order prediction; nil if it never does.
    private func lineSearch(_ x: [Double], _ value: Double, _ gradient: [Double], _ direction: [Double],
                            _ project: ([Double]) -> [Double],
                            _ objective: ([Double]) -> (value: Double, gradient: [Double])) -> ([Double], Double, [Double])? {
        var t = 1.0
        for _ in 0..<40 {
            let trial = project(zip(x, direction).map { $0 + t * $1 })
            let predicted = zip(gradient, zip(trial, x)).reduce(0) { $0 + $1.0 * ($1.1.0 - $1.1.1) }
            if predicted >= 0 { return nil }  // the projection left no descent
            let (trialValue, trialGradient) = objective(trial)
            if trialValue.isFinite && trialValue <= value + 1e-4 * predicted { return (trial, trialValue, trialGradient) }
            t *= trialValue.isFinite ? 0.5 : 0.1
        }
        return nil
    }

    /// −H·g by the two-loop recursion, H the L-BFGS inverse-Hessian approximation
    /// scaled by sᵀy/yᵀy of the latest pair.
    static func quasiNewtonDirection(_ gradient: [Double], steps: [[Double]], changes: [[Double]]) -> [Double] {
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        var q = gradient
        var alphas = [Double](repeating: 0, count: steps.count)
        for k in stride(from: steps.count - 1, through: 0, by: -1) {
            let rho = 1 / dot(changes[k], steps[k])
            alphas[k] = rho * dot(steps[k], q)
            for i in q.indices { q[i] -= alphas[k] * changes[k][i] }
        }
        if let s = steps.last, let y = changes.last {
            let gamma = dot(s, y) / dot(y, y)
            for i in q.indices { q[i] *= gamma }
        }
        for k in 0..<steps.count {
            let rho = 1 / dot(changes[k], steps[k])
            let beta = rho * dot(changes[k], q)
            for i in q.indices { q[i] += (alphas[k] - beta) * steps[k][i] }
        }
        return q.map { -$0 }
    }
}
