import FlockReport
import Foundation

/// `flock train` as a library call: everything that can fail on bad input (config,
/// data, model shape, a model that differs between ranks) is checked before the run
/// directory is created, so a bad job leaves nothing behind. Only rank 0 writes.
public struct TrainingRun {
    public let trainer: Trainer
    public let config: TrainingConfig
    /// The run directory (rank 0 only).
    public let directory: RunDirectory?
    /// The experiment store the run is recorded in (rank 0 only).
    public let store: ExperimentStore?
    private let runID: String
    /// `callbacks.tensorboard`: event files of the per-epoch scalars (rank 0 only).
    private let tensorBoard: TensorBoardWriter?
    private let heartbeat: RunHeartbeat?
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
            resumeNotes = try trainer.resume(from: checkpoint)
            if rank == 0 {
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
            let id = runID
            trainer.onCheckpoint = { url, state in
                // The store is a record of the run; a failed write must not kill training.
                try? store.recordCheckpoint(CheckpointRecord(runID: id, name: url.lastPathComponent, epoch: state.epoch,
                                                             step: state.step, path: url.path))
                if let kept = state.keptCheckpoints {
                    try? store.removeCheckpoints(runID: id, keeping: kept)
                }
            }
            self.store = store
        } else {
            store = nil
            heartbeat = nil
        }
        tensorBoard = try created.flatMap { config.callbacks.tensorBoard ? try TensorBoardWriter(directory: $0.url) : nil }
    }

    /// Trains, appending each epoch to `metrics.jsonl` and the store, then writes
    /// `summary.json`, `model.safetensors` and `preprocessing.json`.
    public func run(onEpoch: (EpochRecord) throws -> Void = { _ in }) throws -> TrainingSummary {
        var writeError: (any Error)?
        defer { heartbeat?.stop() }
        let summary: TrainingSummary
        do {
            summary = try trainer.fit { record in
                if let directory {
                    do { try directory.appendMetrics(record, csv: config.callbacks.csvLogger) } catch {
                        writeError = writeError ?? error
                    }
                }
                do { try store?.recordEpoch(runID: runID, epoch: record.epoch, metrics: record.metrics, best: record.best) } catch {
                    writeError = writeError ?? error
                }
                do {
                    try tensorBoard?.write(step: record.epoch, scalars: TensorBoardWriter.scalars(ofEpoch: record.metrics.merging(
                        ["lr": Double(record.learningRate), "seconds": record.seconds, "samples_per_second": record.samplesPerSecond]) { $1 }))
                } catch { writeError = writeError ?? error }
                try onEpoch(record)
            }
        } catch let pruned as RunPruned {
            try? store?.finishRun(id: runID, status: .pruned)
            throw pruned
        } catch {
            try? store?.finishRun(id: runID, status: .failed, error: "\(error)")
            throw error
        }
        // The store says completed only once everything the run writes is written, so it
        // agrees with the exit status.
        do {
            // Collective (a sharded model's pieces come together on rank 0), so before rank 0
            // alone may throw a write error.
            let whole = try trainer.wholeModelState()
            if let writeError { throw writeError }
            if let directory, let whole {
                try AtomicFile.write(try SafeTensors.encode(whole, like: trainer.model.parameters),
                                     to: directory.url.appendingPathComponent("model.safetensors"))
                try AtomicFile.write(try trainer.data.preprocessing.encoded(),
                                     to: directory.url.appendingPathComponent(Preprocessing.fileName))
                try directory.writeSummary(summary)
            }
        } catch {
            try? store?.finishRun(id: runID, status: .failed, error: "\(error)")
            throw error
        }
        try? store?.finishRun(id: runID, status: summary.stoppedEarly ? .stoppedEarly : .completed)
        return summary
    }
}

/// Thrown from an epoch callback to stop a run that a hyperparameter sweep pruned.
public struct RunPruned: Error, CustomStringConvertible {
    /// The objective when it was pruned.
    public let value: Double

    public init(value: Double) { self.value = value }

    public var description: String { "pruned at objective \(value)" }
}
