import FlockParallel
import FlockStore
import FlockTensor
import Foundation

/// Something that watches training — logging, progress, metrics files, the store,
/// TensorBoard, MLflow, a sweep's pruner — in the shape of Keras' callback hooks
/// (`on_train_begin`, `on_batch_end`, `on_epoch_end`, …). The trainer calls every
/// observer on every rank; each hook does nothing by default. Unlike a `Callback`, an
/// observer has no say in training and no checkpointed state; the one exception is
/// `epochEnded`, which may throw to end the run at once (a pruned trial does).
///
/// ```swift
/// final class PrintLoss: TrainingObserver {
///     func epochEnded(_ record: EpochRecord) throws { print(record.epoch, record.metrics["loss"]!) }
/// }
/// trainer.observers.append(PrintLoss())
/// ```
public protocol TrainingObserver: AnyObject {
    /// Before the first step (after a resume, from where it continues).
    func trainingBegan(_ trainer: Trainer)
    /// After every optimizer step.
    func batchEnded(_ progress: BatchProgress)
    /// After an epoch's metrics are known, before its checkpoint is written. Throwing ends
    /// training: the error leaves `fit` (and `trainingEnded` sees it).
    func epochEnded(_ record: EpochRecord) throws
    /// After a checkpoint was written and committed (rank 0).
    func checkpointWritten(_ folder: URL, state: TrainingState)
    /// After TerminateOnNaN rolled back to the last checkpoint.
    func rolledBack(_ rollback: RollbackEvent)
    /// When `fit` returns or throws.
    func trainingEnded(_ outcome: Result<TrainingSummary, any Error>)
    /// The last event of a `TrainingRun` (rank 0's observers): the run directory's final
    /// files (`model.safetensors`, `preprocessing.json`, `summary.json`) are written, or
    /// the run failed. An observer that sends them elsewhere (MLflow's) does it here.
    func runEnded(_ outcome: Result<TrainingSummary, any Error>, directory: URL)
    /// A failure that must fail the run once training is over but must not stop it (a
    /// file that could not be written); nil when there is none.
    var deferredFailure: (any Error)? { get }
    /// The config field that asks for this observer (`callbacks.tensorboard`), so a run can
    /// tell that what its config asks for is attached; nil for the rest.
    var configField: String? { get }
}

extension TrainingObserver {
    public func trainingBegan(_ trainer: Trainer) {}
    public func batchEnded(_ progress: BatchProgress) {}
    public func epochEnded(_ record: EpochRecord) throws {}
    public func checkpointWritten(_ folder: URL, state: TrainingState) {}
    public func rolledBack(_ rollback: RollbackEvent) {}
    public func trainingEnded(_ outcome: Result<TrainingSummary, any Error>) {}
    public func runEnded(_ outcome: Result<TrainingSummary, any Error>, directory: URL) {}
    public var deferredFailure: (any Error)? { nil }
    public var configField: String? { nil }
}

/// A TerminateOnNaN rollback: what went wrong where, and the learning-rate factor now.
public struct RollbackEvent: Sendable {
    public let error: NonFiniteLossError
    /// What this rollback multiplied the learning rate by.
    public let learningRateFactor: Double
    /// The run's learning-rate factor after the rollback.
    public let learningRateScale: Double
    /// Rollbacks so far, and the most allowed.
    public let rollbacks: Int
    public let maxRollbacks: Int
}

/// An error an observer throws from `epochEnded` to end a run on purpose (a sweep's
/// pruner), with the status the run's records take.
public protocol RunEndingRequest: Error {
    var status: RunRecord.Status { get }
}
