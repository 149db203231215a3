import FlockStore
import FlockSweep
import FlockTestSupport
import Foundation

/// A real sweep (driver, TPE sampler, SQLite store) over learning rate and
/// momentum (median pruner) whose trials report a scripted curve per step instead of training: it has
/// complete, pruned and failed trials in seconds.
enum StudyFixture {
    struct Diverged: Error, CustomStringConvertible {
        var description: String { "diverged" }
    }

    struct CurveRunner: TrialRunner {
        func run(_ trial: TrialAssignment, report: @escaping @Sendable (Int, Double) -> Bool) throws -> TrialResult {
            if trial.number == 3 { throw Diverged() }
            let lr = trial.params["optimizer.lr"]!.doubleValue!, momentum = trial.params["optimizer.momentum"]!.doubleValue!
            // Best near lr = 0.01; momentum matters little.
            let floor = 0.2 + pow(log10(lr) + 2, 2) + 0.05 * momentum
            var value = 0.0
            for step in 1...5 {
                value = floor + 1 / Double(step)
                if report(step, value) { return .pruned(value) }
            }
            return .complete(value)
        }
    }

    static func run(store path: String, directory: URL) throws -> [TrialRecord] {
        let sweep = try SweepConfig.parse("""
            study: report-study
            base_config:
              data: {source: \(ChildProcess.digitsCSV), label_column: label}
              model: [{type: dense, units: 10}]
              optimizer: {name: momentum}
            space:
              - {name: optimizer.lr, type: float, low: 0.0001, high: 0.1, log: true}
              - {name: optimizer.momentum, type: float, low: 0.0, high: 0.9}
            objective: {metric: val_loss, direction: minimize}
            budget: {trials: 14}
            sampler: {name: tpe, startup_trials: 5}
            seed: 7
            pruner: {name: median, startup_trials: 4, warmup_steps: 1}
            max_retries: 0
            """, baseDirectory: "/")
        let driver = SweepDriver(sweep: sweep, store: try ExperimentStore(path: path), directory: directory, runner: CurveRunner())
        return try driver.run(workers: 1)
    }

    /// The last step `trial` reported.
    static func lastStep(store path: String, trial: TrialRecord) throws -> Int? {
        try ExperimentStore(path: path, readOnly: true).curves(ofStudy: trial.study).first { $0.number == trial.number }?.values.keys.max()
    }
}
