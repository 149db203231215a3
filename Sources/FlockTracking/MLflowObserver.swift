import FlockStore
import FlockTrain
import Foundation

/// `callbacks.mlflow` on the rank that writes the run directory: the resolved config as
/// params (flattened key paths, `model[0].units` as `model.0.units`), each epoch's
/// metrics with `lr`, `seconds` and `samples_per_second` (step = epoch), tags (world
/// size, layout, git commit when known), and at the end the model (`model/`: MLmodel,
/// safetensors, config, preprocessing), `summary.json`, `metrics.jsonl` and the report
/// as artifacts. Everything goes through an `MLflowQueue`, so training only appends to
/// a list; what the server never took is kept in `mlflow-unsent.jsonl`, and a resumed run
/// sends its metrics again.
///
/// A resumed run (`mlflow.json` in the run directory, same server) continues the same
/// MLflow run; its params are not sent again (MLflow params never change).
public final class MLflowObserver: TrainingObserver {
    /// The model files sent under `model/` when the run directory holds them.
    static let modelFiles = ["model.safetensors", "config.yaml", "preprocessing.json", "model.onnx"]

    public let queue: MLflowQueue
    public let run: MLflowQueue.Run
    let directory: URL
    let flushTimeout: Double
    /// Writes the run's HTML report into the directory and returns the file.
    let report: (URL) -> URL?
    /// Writes the run's model as `model.onnx` into the directory (the ONNX flavour of the
    /// logged model); nil when it cannot (a layer without an ONNX equivalent).
    let onnxModel: (URL) -> URL?

    public var configField: String? { "callbacks.mlflow" }

    public init(config: TrainingConfig, settings: MLflowConfig, directory: URL, worldSize: Int,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                report: @escaping (URL) -> URL? = { _ in nil }, onnxModel: @escaping (URL) -> URL? = { _ in nil }) throws {
        let server = try settings.resolvedServer(environment: environment)
        let previous = MLflowRunFile.read(in: directory).flatMap { $0.trackingURI == server.absoluteString ? $0 : nil }
        queue = MLflowQueue(client: MLflowClient(server: server, timeout: settings.requestTimeout)) { _, started in
            try? MLflowRunFile(trackingURI: server.absoluteString, experimentID: started.experimentID, runID: started.runID)
                .write(in: directory)
        }
        flushTimeout = settings.flushTimeout
        self.directory = directory
        self.report = report
        self.onnxModel = onnxModel
        let tags = Self.tags(config: config, directory: directory, worldSize: worldSize, environment: environment)
        run = queue.start(MLflowRunStart(experiment: settings.experiment ?? config.name, name: directory.lastPathComponent,
                                         tags: tags, existingRunID: previous?.runID))
        if previous == nil {
            let params = Dictionary(config.flattenedSettings.map { (MLflowNames.key($0.key), MLflowNames.value($0.value)) }) { a, _ in a }
            for batch in MLflowBatch.split(params: params) { queue.enqueue(.log(batch), for: run) }
        }
    }

    /// Sends again the metrics an earlier attempt of this run kept in `mlflow-unsent.jsonl`
    /// (those of epochs the checkpoint covers: later ones are trained again), before this
    /// attempt's first epoch. Whatever fails again is kept again at the end.
    public func trainingBegan(_ trainer: Trainer) {
        guard let kept = MLflowUnsentFile.take(in: directory) else { return }
        let metrics = kept.flatMap { operation -> [MLflowBatch.Metric] in
            guard case let .log(batch) = operation else { return [] }
            return batch.metrics.filter { $0.step <= trainer.completedEpochs }
        }
        for batch in MLflowBatch.split(metrics: metrics) { queue.enqueue(.log(batch), for: run) }
    }

    public func epochEnded(_ record: EpochRecord) throws {
        let timestamp = MLflowClient.now()
        let values = record.metrics.merging(["lr": Double(record.learningRate), "seconds": record.seconds,
                                             "samples_per_second": record.samplesPerSecond]) { a, _ in a }
        // JSON has no NaN or infinity; such values stay in metrics.jsonl only.
        let metrics = values.filter { $0.value.isFinite }.sorted { $0.key < $1.key }.map {
            MLflowBatch.Metric(key: MLflowNames.key($0.key), value: $0.value, timestamp: timestamp, step: record.epoch)
        }
        for batch in MLflowBatch.split(metrics: metrics) { queue.enqueue(.log(batch), for: run) }
    }

    /// Sends the artifacts and the run's status, then waits up to `flush_timeout` for the
    /// queue; what is left is appended to `mlflow-unsent.jsonl`.
    public func runEnded(_ outcome: Result<TrainingSummary, any Error>, directory: URL) {
        let manager = FileManager.default
        if case .success = outcome { _ = onnxModel(directory) }
        let present = Self.modelFiles.filter { manager.fileExists(atPath: directory.appendingPathComponent($0).path) }
        for file in present {
            queue.enqueue(.upload(file: directory.appendingPathComponent(file).path, artifactPath: "model/\(file)"), for: run)
        }
        if present.contains("model.safetensors") {
            queue.enqueue(.uploadMLmodel(files: present, artifactPath: "model/MLmodel"), for: run)
        }
        for file in ["summary.json", "metrics.jsonl"] where manager.fileExists(atPath: directory.appendingPathComponent(file).path) {
            queue.enqueue(.upload(file: directory.appendingPathComponent(file).path, artifactPath: file), for: run)
        }
        if case .success = outcome, let page = report(directory) {
            queue.enqueue(.upload(file: page.path, artifactPath: page.lastPathComponent), for: run)
        }
        let status: String
        switch outcome {
        case .success: status = "FINISHED"
        case let .failure(error): status = (error as? any RunEndingRequest)?.status == .pruned ? "KILLED" : "FAILED"
        }
        queue.enqueue(.end(status: status, endTime: MLflowClient.now()), for: run)
        MLflowUnsentFile.keep(queue.flush(timeout: flushTimeout), in: directory)
    }

    static func tags(config: TrainingConfig, directory: URL, worldSize: Int, environment: [String: String]) -> [String: String] {
        let parallel = config.parallel
        let data = max(1, worldSize / max(1, parallel.pipeline * parallel.tensor))
        var tags = ["mlflow.source.name": "flock", "mlflow.source.type": "LOCAL",
                    "flock.world_size": "\(worldSize)",
                    "flock.layout": "data \(data) × pipeline \(parallel.pipeline) × tensor \(parallel.tensor)",
                    "flock.run_directory": directory.standardizedFileURL.path]
        if let user = environment["USER"] { tags["mlflow.user"] = user }
        if let commit = GitCommit.current(environment: environment) { tags["mlflow.source.git.commit"] = commit }
        return tags
    }
}
