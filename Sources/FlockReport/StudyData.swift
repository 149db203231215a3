import FlockStore
import FlockSweep
import FlockTrain
import Foundation

/// A study as a report shows it: its trials with decoded parameters, intermediate values,
/// objective and direction.
struct StudyData {
    let study: StudyRecord
    let trials: [TrialRecord]
    /// Trial number → step → value.
    let curves: [Int: [Int: Double]]
    /// The stored sweep file, typed; nil when this version does not read it (`definitionProblem` says why).
    let definition: SweepDefinition?
    let definitionProblem: String?

    init(snapshot: StudySnapshot, curves: [TrialCurveRecord]) {
        study = snapshot.study
        trials = snapshot.trials
        self.curves = Dictionary(curves.map { ($0.number, $0.values) }, uniquingKeysWith: { $1 })
        do {
            definition = try SweepDefinition(yaml: snapshot.study.definition, fileName: "study '\(snapshot.study.name)' sweep file")
            definitionProblem = nil
        } catch {
            definition = nil
            definitionProblem = UnreadConfigNote.reason(error)
        }
    }

    /// The objective's direction from the sweep file; the store's record of it when the file was not read.
    var maximize: Bool { definition?.maximize ?? (study.direction == "maximize") }

    /// `maximize` or `minimize`, as a sweep file writes it.
    var direction: String { maximize ? "maximize" : "minimize" }

    /// The objective's metric name from the sweep file (`objective.metric`).
    var metric: String { definition?.metric ?? "objective" }

    /// The search space's parameter names, in the definition's order, and whether each is
    /// on a log scale; the trials' parameter names when the sweep file was not read.
    var space: [(name: String, log: Bool)] {
        guard let definition else { return Set(trials.flatMap { params($0).keys }).sorted().map { ($0, false) } }
        return definition.space.parameters.map { ($0.name, $0.isLogScale) }
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

    /// A trial's training config as the sweep made it: the study's stored base (decoded
    /// from its text) with the trial's parameters set on their typed fields.
    func trialConfig(_ trial: TrialRecord) throws -> TrainingConfig {
        let base = try ConfigLoader.decode(TrainingConfig.self, yaml: study.base, fileName: "study '\(study.name)' base config")
        return try base.setting(try JSONDecoder().decode([String: ParameterValue].self, from: Data(trial.params.utf8)))
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
