import FlockStore
import Foundation

/// A study as a report shows it: its trials with decoded parameters, intermediate values,
/// objective and direction.
struct StudyData {
    let study: StudyRecord
    let trials: [TrialRecord]
    /// Trial number → step → value.
    let curves: [Int: [Int: Double]]

    init(snapshot: StudySnapshot, curves: [TrialCurveRecord]) {
        study = snapshot.study
        trials = snapshot.trials
        self.curves = Dictionary(curves.map { ($0.number, $0.values) }, uniquingKeysWith: { $1 })
    }

    var maximize: Bool { study.direction == "maximize" }

    /// The objective's metric name from the sweep definition (`objective.metric`).
    var metric: String { ConfigTree.value("objective.metric", in: study.definition) ?? "objective" }

    /// The search space's parameter names, in the definition's order, and whether each is on a log scale.
    var space: [(name: String, log: Bool)] {
        let flat = ConfigTree.flatten(yaml: study.definition)
        var result: [(String, Bool)] = []
        var index = 0
        while let name = flat["space[\(index)].name"] {
            result.append((name, flat["space[\(index)].log"] == "true"))
            index += 1
        }
        if result.isEmpty { return Set(trials.flatMap { params($0).keys }).sorted().map { ($0, false) } }
        return result
    }

    func params(_ trial: TrialRecord) -> [String: TrialParameterValue] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(trial.params.utf8)) as? [String: Any] else { return [:] }
        var result: [String: TrialParameterValue] = [:]
        for (key, value) in object {
            if let name = value as? String {
                result[key] = .category(name)
            } else if let number = value as? NSNumber {
                result[key] = .number(number.doubleValue)
            } else {
                result[key] = .category("\(value)")
            }
        }
        return result
    }

    /// The complete trial with the best objective in the study's direction.
    var best: TrialRecord? {
        let complete = trials.filter { $0.state == .complete && $0.value?.isFinite == true }
        return maximize ? complete.max { $0.value! < $1.value! } : complete.min { $0.value! < $1.value! }
    }

    /// The step a pruned trial stopped at: its last intermediate value's step.
    func prunedStep(_ trial: TrialRecord) -> Int? {
        trial.state == .pruned ? curves[trial.number]?.keys.max() : nil
    }
}
