import Foundation

/// A test hook: `FLOCK_FAULT_KILL=R:S` makes rank R SIGKILL itself right after optimizer
/// step S in the first launch of a job; `R0:S0,R1:S1,…` names one kill per launch of a
/// supervised job (entry k acts in launch k, `FLOCK_RESTART=k`), so a fault test kills real
/// rank processes at known steps, again and again. Never set in production.
final class RankFaultInjection: TrainingObserver {
    static let variable = "FLOCK_FAULT_KILL"

    private let rank: Int
    private let step: Int
    private weak var trainer: Trainer?

    /// nil unless the variable names a kill for this launch (a malformed value is ignored:
    /// it is a test hook).
    init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let text = environment[Self.variable] else { return nil }
        let attempt = environment[SupervisorChannel.attemptVariable].flatMap(Int.init) ?? 0
        let kills = text.split(separator: ",")
        guard attempt >= 0, attempt < kills.count else { return nil }
        let parts = kills[attempt].split(separator: ":").compactMap { Int($0) }
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
