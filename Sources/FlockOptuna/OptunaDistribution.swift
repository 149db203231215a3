import FlockSweep
import FlockTrain
import Foundation

/// A parameter's domain as Optuna writes it in `trial_params.distribution_json`, and its
/// values in Optuna's internal form (`param_value`: the float itself, the int as a
/// float, a categorical choice's index).
///
/// ```json
/// {"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0001, "high": 0.1, "log": true}}
/// {"name": "IntDistribution", "attributes": {"log": false, "step": 2, "low": 1, "high": 9}}
/// {"name": "CategoricalDistribution", "attributes": {"choices": ["adam", "momentum"]}}
/// ```
enum OptunaDistribution {
    static func json(_ domain: ParameterSpec.Domain) -> String {
        let object: [String: Any]
        switch domain {
        case let .float(low, high, log):
            object = ["name": "FloatDistribution", "attributes": ["step": NSNull(), "low": low, "high": high, "log": log]]
        case let .int(low, high, step, log):
            object = ["name": "IntDistribution", "attributes": ["log": log, "step": step, "low": low, "high": high]]
        case let .categorical(choices):
            object = ["name": "CategoricalDistribution", "attributes": ["choices": choices.map(jsonValue)]]
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// `value` in Optuna's internal form; nil when it is not in the domain.
    static func internalValue(_ value: ParameterValue, in domain: ParameterSpec.Domain) -> Double? {
        switch domain {
        case .float, .int:
            return value.doubleValue
        case let .categorical(choices):
            // JSON keeps 1.0 as 1: a numeric choice matches by value.
            return (choices.firstIndex(of: value) ?? choices.firstIndex { $0.doubleValue != nil && $0.doubleValue == value.doubleValue })
                .map(Double.init)
        }
    }

    /// The value an Optuna trial holds (internal form, with its `distribution_json`); nil
    /// when the JSON is not a distribution Flock has.
    static func value(internal stored: Double, json text: String) -> ParameterValue? {
        struct Stored: Decodable {
            struct Attributes: Decodable { let choices: [ParameterValue]? }
            let name: String
            let attributes: Attributes
        }
        guard let distribution = try? JSONDecoder().decode(Stored.self, from: Data(text.utf8)) else { return nil }
        switch distribution.name {
        case "FloatDistribution", "UniformDistribution", "LogUniformDistribution", "DiscreteUniformDistribution":
            return .double(stored)
        case "IntDistribution", "IntUniformDistribution", "IntLogUniformDistribution":
            return stored.isFinite && abs(stored) < 9e18 ? .int(Int(stored.rounded())) : nil
        case "CategoricalDistribution":
            // ParameterValue reads 2 as an int, 0.5 as a double, "adam" as a string.
            guard let choices = distribution.attributes.choices, stored >= 0, stored < Double(choices.count) else { return nil }
            return choices[Int(stored)]
        default:
            return nil
        }
    }

    private static func jsonValue(_ value: ParameterValue) -> Any {
        switch value {
        case let .double(x): return x
        case let .int(x): return x
        case let .string(x): return x
        }
    }
}
