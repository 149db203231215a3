import Foundation
import Testing
@testable import FlockReport

/// The importance estimate on objectives built from known parameters.
@Suite struct ParameterImportanceTests {
    /// 40 trials: `lr` on a log grid drives the objective, `momentum` takes values that do not.
    func trials(noise: Double) -> [(params: [String: TrialParameterValue], objective: Double)] {
        (0..<40).map { index in
            let lr = pow(10, -4 + 3 * Double(index % 10) / 9)
            let momentum = Double((index * 7) % 11) / 10
            let optimizer = (index / 10) % 2 == 0 ? "adam" : "sgd"
            // A deterministic wiggle standing in for noise, unrelated to momentum or optimizer.
            let wiggle = noise * sin(Double(index) * 12.9898)
            return (["lr": .number(lr), "momentum": .number(momentum), "optimizer": .category(optimizer)],
                     pow(log10(lr) + 2.5, 2) + wiggle)
        }
    }

    @Test func theParameterThatDrivesTheObjectiveGetsNearlyAllTheImportance() {
        let estimates = ParameterImportance.estimate(trials(noise: 0.05))
        #expect(estimates.map(\.parameter).first == "lr")
        #expect(estimates[0].importance > 0.9, "\(estimates)")
        #expect(abs(estimates.map(\.importance).reduce(0, +) - 1) < 1e-9)
    }

    @Test func aCategoryThatShiftsTheObjectiveIsRankedByItsEffect() {
        // The optimizer adds 3 for sgd; lr's effect (0–2.25) is smaller.
        let shifted = trials(noise: 0).map { trial -> (params: [String: TrialParameterValue], objective: Double) in
            (trial.params, trial.objective + (trial.params["optimizer"] == .category("sgd") ? 3 : 0))
        }
        let estimates = ParameterImportance.estimate(shifted)
        #expect(estimates.map(\.parameter) .prefix(2) == ["optimizer", "lr"], "\(estimates)")
        #expect(estimates.last?.parameter == "momentum")
    }

    @Test func tooFewTrialsOrAConstantObjectiveGiveNoEstimate() {
        #expect(ParameterImportance.estimate(Array(trials(noise: 0).prefix(3))).isEmpty)
        #expect(ParameterImportance.estimate(trials(noise: 0).map { ($0.params, 1.0) }).isEmpty)
    }
}
