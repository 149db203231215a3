import Foundation

/// A test hook: `FLOCK_FAULT_KILL=R:S` makes rank R SIGKILL itself right after optimizer
/// step S, in the first launch of a supervised job only (`FLOCK_RESTART` unset or 0), so a
/// fault test kills a real rank process at a known step. Never set in production.
final class RankFaultInjection: TrainingObserver {
    static let variable = "FLOCK_FAULT_KILL"

    private let rank: Int
    private let step: Int
    private weak var trainer: Trainer?

    /// nil unless the variable names this launch (a malformed value is ignored: it is a test hook).
    init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let text = environment[Self.variable], (environment[SupervisorChannel.attemptVariable] ?? "0") == "0" else { return nil }
        let parts = text.split(separator: ":").compactMap { Int($0) }
        guard parts.count == 2 else { return nil }
        rank = parts[0]
        step = parts[1]
    }

    func trainingBegan(_ trainer: Trainer) { self.trainer = trainer }

    func batchEnded(_ progress: BatchProgress) {
        guard let trainer, trainer.rank == rank, trainer.optimizer.stepCount == step else { return }
        kill(getpid(), SIGKILL)
    }
}
