import FlockStore
import Foundation

/// Deciding whether and how a failed launch is relaunched.
extension JobSupervisor {
    /// The next launch after `outcome`: its width and what the restart costs; throws when
    /// the failure is the job's own, the restarts are spent, or too few slots are left.
    func restart(after outcome: SupervisedAttempt.Outcome, width: Int, slots: Int) throws -> PendingRestart {
        let failures = channel.failures()
        if let own = failures.first(where: { $0.kind == .error }) {
            throw giveUp("rank \(own.rank): \(own.message) (an error of the job itself, not a lost rank: not restarted)")
        }
        let cause = Self.cause(outcome, failures)
        guard launches - 1 < job.maxRestarts else {
            throw giveUp("\(cause); gave up after \(job.maxRestarts) restart\(job.maxRestarts == 1 ? "" : "s") (elastic.max_restarts or --max-restarts); the last checkpoint is in \(job.runDirectory)/checkpoints/last")
        }
        guard let next = ElasticWidth.choose(slots: slots, requested: job.ranks, minimum: job.minRanks,
                                             batchSize: job.batchSize, modelParallel: job.modelParallel) else {
            let shortfall = slots < job.minRanks
                ? "\(max(slots, 0)) slot\(slots == 1 ? "" : "s") left, fewer than elastic.min_ranks \(job.minRanks)"
                : "no width from elastic.min_ranks \(job.minRanks) to the \(slots) slots left splits the global batch of \(job.batchSize) into whole model-parallel groups"
            throw giveUp("\(cause); \(shortfall); the last checkpoint is in \(job.runDirectory)/checkpoints/last")
        }
        let lastStep = channel.progress()
        let (fromStep, source, whence) = try resumePoint()
        let lost = max(0, (lastStep ?? fromStep) - fromStep)
        log("supervisor: \(cause) at step \(lastStep.map(String.init) ?? "?"); restart \(launches) of \(job.maxRestarts) on \(next) rank\(next == 1 ? "" : "s") \(whence)")
        return PendingRestart(cause: cause, ranksBefore: width, ranksAfter: next, stepsLost: lost, fromStep: fromStep,
                              failedAt: outcome.failedAt, source: source)
    }

    /// Where the relaunch resumes: the newest complete memory snapshot the surviving
    /// keepers hold, written out as `checkpoints/snapshot-step-N`, when it is newer than
    /// the last disk checkpoint; else that checkpoint (or the start). The step, its
    /// source, and the words for the log.
    func resumePoint() throws -> (step: Int, source: JobRestart.Source, whence: String) {
        let checkpoints = URL(fileURLWithPath: job.runDirectory).appendingPathComponent("checkpoints")
        let disk = try? Checkpoint.readState(checkpoints.appendingPathComponent("last")).step
        if let fleet, let restored = SnapshotRecovery.restore(from: fleet.running, newerThan: disk, into: checkpoints, log: log) {
            return (restored.step, .memory, "from the memory snapshot of step \(restored.step) (held by the keepers on \(restored.hosts.joined(separator: ", ")))")
        }
        let step = try checkpointStep()
        let whence = step == 0 && disk == nil ? "from the start" : "from the disk checkpoint of step \(step)"
        return (step, .disk, fleet == nil ? whence : "\(whence): no complete memory snapshot newer is held")
    }

    /// The optimizer step of `checkpoints/last`; with none yet, the run starts over (its
    /// folder, made by the failed launch, is removed so a fresh run may take the path).
    func checkpointStep() throws -> Int {
        struct Step: Decodable { var step: Int }
        let state = URL(fileURLWithPath: job.runDirectory).appendingPathComponent("checkpoints/last/state.json")
        if let data = try? Data(contentsOf: state) {
            do { return try FlockJSON.decoder.decode(Step.self, from: data).step } catch {
                throw giveUp("\(state.path): cannot read the step to restart from: \(error)")
            }
        }
        guard !job.train.resume else { throw giveUp("\(state.path): no checkpoint to restart from") }
        try? FileManager.default.removeItem(atPath: job.runDirectory)
        return 0
    }

    /// Why the launch ended, as mpirun or the ranks' records say.
    static func cause(_ outcome: SupervisedAttempt.Outcome, _ failures: [RankFailure]) -> String {
        if let reason = outcome.endedBecause { return reason }
        let text = outcome.errorTail
        let pattern = #/process rank (\d+) with PID \d+ on node (\S+) exited on signal (\d+) \(([^)]*)\)/#
        if let match = text.firstMatch(of: pattern) {
            return "rank \(match.1) on \(match.2) exited on signal \(match.3) (\(match.4))"
        }
        if text.contains("lost communication with a remote daemon") || text.contains("daemon did not report back") {
            return "a host was lost (mpirun lost its daemon)"
        }
        if let first = failures.first { return "rank \(first.rank): \(first.message)" }
        return "mpirun exited with status \(outcome.status)"
    }

    /// The job ends here: the store says failed, with the reason.
    func giveUp(_ message: String) -> SupervisorError {
        if let store = try? ExperimentStore(path: storePath) {
            try? store.finishRun(id: runID, status: .failed, error: message)
        }
        return SupervisorError(exitStatus: 1, description: message)
    }

    /// Adds the restarts to the completed run's `summary.json`.
    func writeRestartsToSummary() throws {
        guard !restarts.isEmpty else { return }
        let file = URL(fileURLWithPath: job.runDirectory).appendingPathComponent("summary.json")
        var summary = try FlockJSON.decoder.decode(TrainingSummary.self, from: Data(contentsOf: file))
        summary.restarts = (summary.restarts ?? []) + restarts
        try AtomicFile.write(try FlockJSON.encoder(pretty: true).encode(summary), to: file)
    }
}

/// A supervised job that ends without completing: the reason, and the exit status to end with.
public struct SupervisorError: Error, CustomStringConvertible {
    public let exitStatus: Int32
    public let description: String
}
