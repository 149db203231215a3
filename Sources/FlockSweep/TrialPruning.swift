import FlockStore
import FlockTrain

/// A trial's pruning hook: after each epoch it reports the objective to the pruner and,
/// when the pruner says so, ends the run at once with `RunPruned` (recorded as pruned).
final class TrialPruning: TrainingObserver {
    let metric: String
    let report: @Sendable (_ step: Int, _ value: Double) -> Bool

    init(metric: String, report: @escaping @Sendable (Int, Double) -> Bool) {
        self.metric = metric
        self.report = report
    }

    func epochEnded(_ record: EpochRecord) throws {
        guard let value = record.metrics[metric] else { return }
        if report(record.epoch, value) { throw RunPruned(value: value) }
    }
}

/// Thrown by a trial's pruning hook to stop a run that the sweep's pruner pruned.
public struct RunPruned: RunEndingRequest, CustomStringConvertible {
    /// The objective when it was pruned.
    public let value: Double

    public init(value: Double) { self.value = value }

    public var status: RunRecord.Status { .pruned }
    public var description: String { "pruned at objective \(value)" }
}
