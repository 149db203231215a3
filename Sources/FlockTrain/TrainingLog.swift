import Logging

/// Logs what a person watching a run must know as it happens (rank 0): TerminateOnNaN
/// rollbacks.
public final class TrainingLog: TrainingObserver {
    private let logger = Logger(label: "flock.train")
    private let rank: Int

    public init(rank: Int) { self.rank = rank }

    public func rolledBack(_ rollback: RollbackEvent) {
        guard rank == 0 else { return }
        let error = rollback.error
        logger.warning("\(error.detail) at step \(error.step) (epoch \(error.epoch), batch \(error.batch)): rolling back to the last checkpoint with the learning rate ×\(rollback.learningRateFactor) (rollback \(rollback.rollbacks) of \(rollback.maxRollbacks))")
    }
}
