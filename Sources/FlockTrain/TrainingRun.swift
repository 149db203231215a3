import FlockComm
import FlockNN
import FlockParallel
import FlockStore
import Foundation

/// `flock train` as a library call: everything that can fail on bad input (config,
/// data, model shape, a model that differs between ranks) is checked before the run
/// directory is created, so a bad job leaves nothing behind. Only rank 0 writes. The
/// metrics files, the store and the log are observers of the trainer; add your own
/// (TensorBoard's, `Flock.attachConfiguredObservers`) to `trainer.observers`.
public struct TrainingRun {
    public let trainer: Trainer
    public let config: TrainingConfig
    /// The run directory (rank 0 only).
    public let directory: RunDirectory?
    /// The experiment store the run is recorded in (rank 0 only).
    public let store: ExperimentStore?
    private let runID: String
    private let heartbeat: RunHeartbeat?
    /// Records epochs, checkpoints and how the run ended in the store (rank 0 only).
    private let storeRecorder: RunStoreRecorder?
    /// What a resume could not carry over exactly (another layout); empty otherwise.
    public private(set) var resumeNotes: [String] = []

    /// - Parameters:
    ///   - runDirectory: where outputs go; default `runs/<name>-<time>`.
    ///   - communicator: the job's ranks; nil for a single process. Collective.
    ///   - resume: continue the run in `runDirectory` from `checkpoints/last`.
    ///   - storePath: the experiment store; default `flock.sqlite` beside the run directory.
    public init(config: TrainingConfig, runDirectory: String? = nil, communicator: (any Communicator)? = nil,
                resume: Bool = false, storePath: String? = nil) throws {
        trainer = try Trainer(config: config, communicator: communicator)
        self.config = config
        let rank = communicator?.rank ?? 0
        var created: RunDirectory? = nil
        var failure: (any Error)? = nil
        if resume && runDirectory == nil {
            throw RunDirectoryError(path: "", reason: "--resume needs --run-dir naming the run to continue")
        }
        let path = runDirectory ?? RunDirectory.defaultPath(name: config.name)
        let yaml = try ConfigLoader.yaml(of: config)
        if resume {
            // Every rank reads the same checkpoint and continues from it.
            let directory = try RunDirectory(path: path, resuming: true)
            let checkpoint = try Checkpoint.load(directory.checkpoints.appendingPathComponent("last"), expectingConfig: yaml)
            let extensions = try Self.extensionNotes(checkpoint, config: config, yaml: yaml)
            resumeNotes = try extensions + trainer.resume(from: checkpoint)
            if rank == 0 {
                // The run directory says what runs from now on (more epochs, other loggers).
                if !extensions.isEmpty { try directory.writeConfig(yaml) }
                try directory.truncateMetrics(afterEpoch: checkpoint.state.epoch)
                directory.removeUnfinishedCheckpoints()
                created = directory
            }
        } else if rank == 0 {
            do {
                let directory = try RunDirectory(path: path)
                try directory.writeConfig(yaml)
                created = directory
            } catch { failure = error }
        }
        // Every rank learns whether rank 0 could start, so none waits on a rank that has stopped.
        if let communicator, communicator.size > 1 {
            let ok = try communicator.broadcast([Int32(failure == nil ? 1 : 0)], root: 0)[0] == 1
            if !ok && rank != 0 { throw RunDirectoryError(path: runDirectory ?? "runs/", reason: "rank 0 could not create the run directory") }
        }
        if let failure { throw failure }
        directory = created
        trainer.checkpointFolder = created?.checkpoints
        trainer.sharedCheckpointFolder = URL(fileURLWithPath: path).appendingPathComponent("checkpoints")
        runID = URL(fileURLWithPath: path).standardizedFileURL.path
        if let created {
            let location = storePath ?? created.url.deletingLastPathComponent().appendingPathComponent("flock.sqlite").path
            let store = try ExperimentStore(path: location)
            try store.startRun(RunRecord(id: runID, name: config.name, config: yaml,
                                         configHash: String(ModelConsistency.fnv1a(yaml), radix: 16),
                                         worldSize: trainer.worldSize, host: ProcessInfo.processInfo.hostName,
                                         directory: created.url.path, pid: Int(ProcessInfo.processInfo.processIdentifier)))
            heartbeat = RunHeartbeat(store: store, runID: runID)
            try? store.recordBLAS(runID: runID, BLASChoice.current().json)
            let recorder = RunStoreRecorder(store: store, runID: runID)
            trainer.observers += [RunMetricsFiles(directory: created, csv: config.callbacks.csvLogger), recorder]
            storeRecorder = recorder
            self.store = store
        } else {
            store = nil
            heartbeat = nil
            storeRecorder = nil
        }
        trainer.observers.append(TrainingLog(rank: rank))
        if rank == 0, let channel = SupervisorChannel.fromEnvironment(), let progress = SupervisedProgress(channel: channel) {
            trainer.observers.append(progress)
        }
        if let channel = SupervisorChannel.fromEnvironment() {
            let every = config.elastic?.snapshotEverySteps ?? ElasticConfig.defaultSnapshotEverySteps
            trainer.memorySnapshots = MemorySnapshotSender(channel: channel, everySteps: every, rank: rank, world: trainer.worldSize)
        }
        if let fault = RankFaultInjection() { trainer.observers.append(fault) }
    }

    /// Trains (the observers append each epoch to `metrics.jsonl` and the store), then
    /// writes `summary.json`, `model.safetensors` and `preprocessing.json`.
    public func run(onEpoch: (EpochRecord) throws -> Void = { _ in }) throws -> TrainingSummary {
        defer { heartbeat?.stop() }
        for (field, on) in [("callbacks.tensorboard", config.callbacks.tensorBoard), ("callbacks.mlflow", config.callbacks.mlflow != nil)]
        where on && directory != nil && !trainer.observers.contains(where: { $0.configField == field }) {
            throw ConfigError(path: field, "is on but no observer for it is attached to this run: call attachConfiguredObservers() (module Flock) on the TrainingRun before run()")
        }
        let summary: TrainingSummary
        do { summary = try finish(try trainer.fit(onEpoch: onEpoch)) } catch {
            announceEnd(.failure(error))
            throw error
        }
        announceEnd(.success(summary))
        return summary
    }

    /// Writes what follows training (the whole model, peak memory, preprocessing, summary).
    private func finish(_ fitted: TrainingSummary) throws -> TrainingSummary {
        var summary = fitted
        if trainer.rank == 0, let snapshots = trainer.memorySnapshots { print(snapshots.report()) }
        // The store says completed only once everything the run writes is written, so it
        // agrees with the exit status.
        do {
            // Collective (a sharded model's pieces come together on rank 0; every rank's peak
            // memory to rank 0), so before rank 0 alone may throw a write error.
            try trainer.writeWholeModel(to: directory?.url.appendingPathComponent("model.safetensors"),
                                        sharedURL: URL(fileURLWithPath: runID).appendingPathComponent("model.safetensors"))
            summary.peakResidentBytes = try trainer.peakResidentBytesOfEveryRank()
            if let failure = trainer.observers.lazy.compactMap(\.deferredFailure).first { throw failure }
            if let directory {
                try AtomicFile.write(try trainer.data.preprocessing.encoded(),
                                     to: directory.url.appendingPathComponent(Preprocessing.fileName))
                try directory.writeSummary(summary)
            }
        } catch {
            storeRecorder?.recordEnd(.failure(error))
            throw error
        }
        storeRecorder?.recordEnd(.success(summary))
        return summary
    }

    /// `runEnded` to every observer, on the rank that writes the run directory.
    private func announceEnd(_ outcome: Result<TrainingSummary, any Error>) {
        guard let directory else { return }
        for observer in trainer.observers { observer.runEnded(outcome, directory: directory.url) }
    }
}

extension TrainingRun {
    /// What a resume with more epochs or other watching fields changes, one note each; an
    /// error when `epochs` is below the epochs the checkpoint has trained.
    static func extensionNotes(_ checkpoint: Checkpoint, config: TrainingConfig, yaml: String) throws -> [String] {
        guard let written = checkpoint.configYAML else { return [] }
        let changes = ConfigDifference.changes(Checkpoint.rewritten(written), yaml, in: ConfigDifference.extendingFields)
        if changes.contains(where: { $0.field == "epochs" }) && config.epochs < checkpoint.state.epoch {
            throw ConfigError(path: "epochs", "the checkpoint has trained \(checkpoint.state.epoch) epochs; resume with epochs ≥ \(checkpoint.state.epoch) to continue it")
        }
        return changes.map { change in
            guard change.field == "epochs" else { return "\(change.line): from now on" }
            return "\(change.line): training continues to epoch \(config.epochs); a cosine schedule is stretched to the new length from the next step (step and exponential decay go by epoch and are unchanged)"
        }
    }
}
