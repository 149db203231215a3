import FlockTensor
import FlockTrain
import Foundation

/// One tunable config key and the values it may take.
public struct ParameterSpec: Sendable, Equatable {
    public enum Domain: Sendable, Equatable {
        /// [low, high]; `log` samples uniformly in log space (low > 0).
        case float(low: Double, high: Double, log: Bool)
        /// low, low + step, … ≤ high; `log` samples in log space (step 1 only).
        case int(low: Int, high: Int, step: Int, log: Bool)
        case categorical([ParameterValue])
    }

    /// The config key path the value overrides, e.g. `optimizer.lr` or `model[0].units`.
    public let name: String
    public let domain: Domain
    /// Active only when these parameters have these values (e.g. momentum only for sgd).
    public let conditions: [String: [ParameterValue]]

    public init(name: String, domain: Domain, conditions: [String: [ParameterValue]] = [:]) {
        self.name = name
        self.domain = domain
        self.conditions = conditions
    }

    public func isActive(given values: [String: ParameterValue]) -> Bool {
        conditions.allSatisfy { key, allowed in values[key].map(allowed.contains) ?? false }
    }

    /// Whether values are drawn on a log scale (a categorical parameter's never are).
    public var isLogScale: Bool {
        switch domain {
        case let .float(_, _, log), let .int(_, _, _, log): return log
        case .categorical: return false
        }
    }

    /// Whether `value` lies in the domain.
    public func contains(_ value: ParameterValue) -> Bool {
        switch (domain, value) {
        case let (.float(low, high, _), value):
            guard let x = value.doubleValue else { return false }
            return x >= low && x <= high
        case let (.int(low, high, step, _), .int(x)):
            return x >= low && x <= high && (x - low) % step == 0
        case let (.categorical(choices), value):
            return choices.contains(value)
        default:
            return false
        }
    }

    /// The internal coordinate TPE models: log for log domains, the value otherwise; the
    /// index for categoricals.
    func internalValue(_ value: ParameterValue) -> Double? {
        switch domain {
        case let .float(_, _, log):
            return value.doubleValue.map { log ? Foundation.log($0) : $0 }
        case let .int(_, _, _, log):
            return value.doubleValue.map { log ? Foundation.log($0) : $0 }
        case let .categorical(choices):
            return choices.firstIndex(of: value).map(Double.init)
        }
    }

    /// The span of the internal coordinate: integers widened by half a step (half a unit
    /// in log space) so that every value owns an equal share; categoricals [0, 1].
    var internalRange: (low: Double, high: Double) {
        switch domain {
        case let .float(low, high, log):
            return log ? (Foundation.log(low), Foundation.log(high)) : (low, high)
        case let .int(low, high, step, log):
            return log ? (Foundation.log(Double(low) - 0.5), Foundation.log(Double(high) + 0.5))
                       : (Double(low) - 0.5 * Double(step), Double(high) + 0.5 * Double(step))
        case .categorical:
            return (0, 1)
        }
    }

    /// The value at internal coordinate `x`: clamped to the domain, integers snapped to
    /// the step, categoricals by index.
    func value(atInternal x: Double) -> ParameterValue {
        switch domain {
        case let .float(low, high, log):
            return .double(min(max(log ? exp(x) : x, low), high))
        case let .int(low, high, step, log):
            let value = log ? exp(x) : x
            let snapped = low + Int(((value - Double(low)) / Double(step)).rounded()) * step
            return .int(min(max(snapped, low), high))
        case let .categorical(choices):
            return choices[min(max(Int(x.rounded()), 0), choices.count - 1)]
        }
    }
}

/// The parameters of a study, in definition order; a parameter's conditions may only
/// refer to parameters defined before it.
public struct SearchSpace: Sendable, Equatable {
    public let parameters: [ParameterSpec]

    public init(_ parameters: [ParameterSpec]) {
        self.parameters = parameters
    }

    /// Draws every active parameter, in order, with `draw` choosing each value.
    func assemble(_ draw: (ParameterSpec, [String: ParameterValue]) -> ParameterValue) -> [String: ParameterValue] {
        var values: [String: ParameterValue] = [:]
        for parameter in parameters where parameter.isActive(given: values) {
            values[parameter.name] = draw(parameter, values)
        }
        return values
    }

    /// A uniformly random value of `parameter` (log-uniform for log domains).
    static func randomValue(_ parameter: ParameterSpec, using generator: inout RandomGenerator) -> ParameterValue {
        let u = Double(generator.next() >> 11) / Double(1 << 53)
        switch parameter.domain {
        case let .float(low, high, log):
            return .double(log ? exp(Foundation.log(low) + u * (Foundation.log(high) - Foundation.log(low))) : low + u * (high - low))
        case let .int(low, high, step, log):
            if log {
                let range = parameter.internalRange
                return .int(min(max(Int(exp(range.low + u * (range.high - range.low)).rounded()), low), high))
            }
            let count = (high - low) / step + 1
            return .int(low + step * min(Int(u * Double(count)), count - 1))
        case let .categorical(choices):
            return choices[min(Int(u * Double(choices.count)), choices.count - 1)]
        }
    }

    /// Every combination of the grid (floats need a categorical list to be gridded; ints
    /// enumerate their steps). Inactive parameters are left out, and duplicates collapse.
    public func grid() -> [[String: ParameterValue]]? {
        var combinations: [[String: ParameterValue]] = [[:]]
        for parameter in parameters {
            let values: [ParameterValue]
            switch parameter.domain {
            case .float: return nil
            case let .int(low, high, step, _): values = stride(from: low, through: high, by: step).map { .int($0) }
            case let .categorical(choices): values = choices
            }
            combinations = combinations.flatMap { partial -> [[String: ParameterValue]] in
                guard parameter.isActive(given: partial) else { return [partial] }
                return values.map { value in partial.merging([parameter.name: value]) { $1 } }
            }
        }
        var seen = Set<[String: ParameterValue]>()
        return combinations.filter { seen.insert($0).inserted }
    }
}
