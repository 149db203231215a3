import FlockStore
import FlockTrain
import FlockTracking
import Foundation

/// A study on MLflow, when the base config has `callbacks.mlflow`: one parent run per
/// study (continued when the driver is started again) and one child run per trial attempt
/// (tag `mlflow.parentRunId`) with the trial's sampled values as params, its intermediate
/// values as the objective metric (step = epoch), and its final objective as `value`.
/// The trials' own training runs are not tracked again (`SweepConfig.trialConfig` turns
/// `callbacks.mlflow` off for them). Requests go through one `MLflowQueue`, so a slow or
/// absent server never holds up a trial.
final class SweepTracking: @unchecked Sendable {
    let queue: MLflowQueue
    let parent: MLflowQueue.Run
    private let sweep: SweepConfig
    private let directory: URL
    private let flushTimeout: Double
    private let lock = NSLock()
    /// Trial number → its current attempt's child run.
    private var children: [Int: MLflowQueue.Run] = [:]

    /// nil when the base config does not ask for MLflow.
    init?(sweep: SweepConfig, directory: URL) throws {
        guard let settings = sweep.base.callbacks.mlflow else { return nil }
        let server = try settings.resolvedServer()
        let fileName = "mlflow-\(sweep.study).json"
        let previous = MLflowRunFile.read(in: directory, named: fileName).flatMap { $0.trackingURI == server.absoluteString ? $0 : nil }
        // The parent is the queue's first run.
        queue = MLflowQueue(client: MLflowClient(server: server, timeout: settings.requestTimeout)) { run, started in
            guard run.index == 0 else { return }
            try? MLflowRunFile(trackingURI: server.absoluteString, experimentID: started.experimentID, runID: started.runID)
                .write(in: directory, named: fileName)
        }
        self.sweep = sweep
        self.directory = directory
        flushTimeout = settings.flushTimeout
        let tags = ["flock.study": sweep.study, "flock.objective": sweep.metric,
                    "flock.direction": sweep.maximize ? "maximize" : "minimize", "mlflow.source.name": "flock sweep"]
        parent = queue.start(MLflowRunStart(experiment: settings.experiment ?? sweep.base.name, name: sweep.study, tags: tags,
                                            existingRunID: previous?.runID))
    }

    func trialStarted(_ trial: TrialRecord, params: [String: ParameterValue]) {
        let child = queue.start(MLflowRunStart(experiment: sweep.base.callbacks.mlflow?.experiment ?? sweep.base.name,
                                               name: String(format: "trial-%04d", trial.number),
                                               tags: ["flock.study": sweep.study, "flock.trial": "\(trial.number)"], parent: parent))
        let values = Dictionary(params.map { (MLflowNames.key($0.key), MLflowNames.value($0.value.description)) }) { a, _ in a }
        for batch in MLflowBatch.split(params: values) { queue.enqueue(.log(batch), for: child) }
        lock.lock(); children[trial.number] = child; lock.unlock()
    }

    func intermediateValue(trial number: Int, step: Int, value: Double) {
        guard let child = child(number), value.isFinite else { return }
        let metric = MLflowBatch.Metric(key: MLflowNames.key(sweep.metric), value: value, timestamp: MLflowClient.now(), step: step)
        queue.enqueue(.log(MLflowBatch(metrics: [metric])), for: child)
    }

    /// The attempt's end: `value`, the state as a tag, and FINISHED (complete), KILLED
    /// (pruned) or FAILED (also an attempt that will be retried: the trial is waiting again).
    func trialFinished(_ trial: TrialRecord, outcome: TrialOutcome) {
        guard let child = child(trial.number) else { return }
        var attemptFailed = false
        if case .failed = outcome { attemptFailed = true }
        let metrics = trial.value.flatMap { $0.isFinite ? [MLflowBatch.Metric(key: "value", value: $0, timestamp: MLflowClient.now(), step: 0)] : nil } ?? []
        let state = attemptFailed ? "failed" : trial.state.rawValue
        queue.enqueue(.log(MLflowBatch(metrics: attemptFailed ? [] : metrics, tags: ["flock.state": state])), for: child)
        let status = state == "complete" ? "FINISHED" : state == "pruned" ? "KILLED" : "FAILED"
        queue.enqueue(.end(status: status, endTime: MLflowClient.now()), for: child)
    }

    /// The parent's end; waits up to `flush_timeout` and keeps what was not sent.
    func studyEnded(failed: Bool) {
        queue.enqueue(.end(status: failed ? "FAILED" : "FINISHED", endTime: MLflowClient.now()), for: parent)
        MLflowUnsentFile.keep(queue.flush(timeout: flushTimeout), in: directory)
    }

    private func child(_ number: Int) -> MLflowQueue.Run? {
        lock.lock(); defer { lock.unlock() }
        return children[number]
    }
}
