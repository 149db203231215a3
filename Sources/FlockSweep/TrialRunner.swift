import FlockTrain
import Foundation

/// A trial handed to a runner.
public struct TrialAssignment: Sendable {
    public let study: String
    public let number: Int
    public let params: [String: ParameterValue]
    /// The trial's own run directory.
    public let runDirectory: URL
    /// Continue from the run directory's last checkpoint (a retried trial).
    public let resume: Bool

    /// A file beside the trial's run directory: `trials/0003.<suffix>`.
    func sibling(_ suffix: String) -> URL {
        runDirectory.deletingLastPathComponent().appendingPathComponent("\(runDirectory.lastPathComponent).\(suffix)")
    }
}

/// How a trial ended.
public enum TrialResult: Sendable, Equatable {
    /// Finished; the objective as reported.
    case complete(Double)
    /// Stopped by the pruner after the given value.
    case pruned(Double?)
}

/// Runs one trial and reports its intermediate values; `report` returns true when the
/// trial must stop (pruned), and the runner then stops it at once.
public protocol TrialRunner: Sendable {
    func run(_ trial: TrialAssignment, report: @escaping @Sendable (_ step: Int, _ value: Double) -> Bool) throws -> TrialResult
}

/// A plain function of the parameters (benchmarks, tests).
public struct FunctionRunner: TrialRunner {
    let objective: @Sendable ([String: ParameterValue]) throws -> Double

    public init(_ objective: @escaping @Sendable ([String: ParameterValue]) throws -> Double) {
        self.objective = objective
    }

    public func run(_ trial: TrialAssignment, report: @escaping @Sendable (Int, Double) -> Bool) throws -> TrialResult {
        .complete(try objective(trial.params))
    }
}

/// Trains in this process (a thread of the driver).
public struct InProcessRunner: TrialRunner {
    let sweep: SweepConfig
    let storePath: String?
    let prepare: @Sendable (TrainingRun) throws -> Void

    /// `prepare` sees each trial's run before it trains (`flock sweep` attaches the
    /// observers its config asks for).
    public init(sweep: SweepConfig, storePath: String?, prepare: @escaping @Sendable (TrainingRun) throws -> Void = { _ in }) {
        self.sweep = sweep
        self.storePath = storePath
        self.prepare = prepare
    }

    public func run(_ trial: TrialAssignment, report: @escaping @Sendable (Int, Double) -> Bool) throws -> TrialResult {
        let config = try sweep.trialConfig(trial.params)
        let training = try TrainingRun(config: config, runDirectory: trial.runDirectory.path, resume: trial.resume, storePath: storePath)
        try prepare(training)
        training.trainer.observers.append(TrialPruning(metric: sweep.metric, report: report))
        do {
            let summary = try training.run()
            return .complete(try objective(summary))
        } catch let pruned as RunPruned {
            return .pruned(pruned.value)
        }
    }

    private func objective(_ summary: TrainingSummary) throws -> Double {
        guard let value = (sweep.useBestEpoch ? summary.best : summary.final)[sweep.metric] else {
            throw SweepError(description: "the run reported no \(sweep.metric)")
        }
        return value
    }
}

/// A trial that failed; the message is what gets recorded.
public struct SweepError: Error, CustomStringConvertible {
    public let description: String
}
