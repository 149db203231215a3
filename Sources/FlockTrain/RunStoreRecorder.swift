import FlockParallel
import FlockStore
import FlockTensor
import Foundation

/// Records a run in the experiment store as it goes: each epoch's metrics, each checkpoint
/// (and which are kept), and how the run ended: a run that trained to its end is recorded
/// completed by `TrainingRun` once its files are written (`recordEnd`), so the store agrees
/// with the exit status. The store is a record of the run: a checkpoint or status write
/// that fails never stops training; an epoch that cannot be recorded fails the run once
/// training is over.
final class RunStoreRecorder: TrainingObserver {
    let store: ExperimentStore
    let runID: String
    private(set) var deferredFailure: (any Error)?

    init(store: ExperimentStore, runID: String) {
        self.store = store
        self.runID = runID
    }

    func epochEnded(_ record: EpochRecord) throws {
        do { try store.recordEpoch(runID: runID, epoch: record.epoch, metrics: record.metrics, best: record.best) } catch {
            deferredFailure = deferredFailure ?? error
        }
    }

    func checkpointWritten(_ folder: URL, state: TrainingState) {
        try? store.recordCheckpoint(CheckpointRecord(runID: runID, name: folder.lastPathComponent, epoch: state.epoch,
                                                     step: state.step, path: folder.path))
        if let kept = state.keptCheckpoints { try? store.removeCheckpoints(runID: runID, keeping: kept) }
    }

    /// Training that failed or was ended on purpose is recorded at once; training that ran
    /// to its end waits for the run's files.
    func trainingEnded(_ outcome: Result<TrainingSummary, any Error>) {
        if case .failure = outcome { recordEnd(outcome) }
    }

    /// How the run ended: completed (or stopped early), failed with the error, or the status
    /// a `RunEndingRequest` asks for.
    func recordEnd(_ outcome: Result<TrainingSummary, any Error>) {
        switch outcome {
        case .success(let summary):
            try? store.finishRun(id: runID, status: summary.stoppedEarly ? .stoppedEarly : .completed)
        case .failure(let request as any RunEndingRequest):
            try? store.finishRun(id: runID, status: request.status)
        case .failure(let error):
            try? store.finishRun(id: runID, status: .failed, error: "\(error)")
        }
    }
}
