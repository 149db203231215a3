import FlockStore
import FlockTrain
import Foundation

/// Runs each trial as a Slurm batch job (`launcher: slurm`): writes its batch script,
/// submits it with `sbatch`, and follows it through `squeue` (and `sacct` once squeue has
/// forgotten it) and the trial's `metrics.jsonl`, reporting each epoch's objective like
/// `CommandRunner`. A trial the pruner stops is cancelled with `scancel`.
///
/// Jobs outlive their driver. The job of the attempt still out is kept in the store
/// (`TrialRecord.job`, written before `sbatch` runs and again with the job ID), and jobs are
/// named per store, trial and attempt, so a driver started again takes over the jobs its
/// predecessor left (queued, running or already ended) instead of submitting them twice.
/// A job that vanishes or ends other than COMPLETED is a failed attempt, retried as with
/// the other launchers.
///
/// The store, the run directories and the `flock` executable must be at the same paths on
/// the compute nodes (a shared file system).
public struct SlurmRunner: TrialRunner {
    let sweep: SweepConfig
    let store: ExperimentStore
    let storePath: String
    let executable: URL
    let commands: SlurmCommands
    /// How long `squeue` may keep failing (controller restarting) before the attempt fails.
    let unreachableLimit: Double = 120
    /// Written into the store while `sbatch` runs, before the job has an ID.
    static let submitting = "submitting"

    public init(sweep: SweepConfig, storePath: String, executable: URL, commands: SlurmCommands) throws {
        self.sweep = sweep
        self.storePath = storePath
        store = try ExperimentStore(path: storePath)
        self.executable = executable
        self.commands = commands
    }

    /// The batch job of the trial's current attempt, its config written beside its run directory.
    func batchJob(_ trial: TrialAssignment, attempt: Int) throws -> SlurmBatchJob {
        var train = TrainProcess(executable: executable, configPath: try sweep.writeTrialConfig(trial).path)
        train.runDirectory = trial.runDirectory.path
        train.storePath = storePath
        train.resume = trial.resume
        train.supervisedMaxRestarts = sweep.maxRestartsPerTrial
        return SlurmBatchJob(train: train, ranks: sweep.ranksPerTrial, options: sweep.slurm,
                             name: SlurmBatchJob.name(storePath: storePath, study: trial.study, number: trial.number, attempt: attempt),
                             outputPath: trial.sibling("out").path,
                             workingDirectory: FileManager.default.currentDirectoryPath)
    }

    public func run(_ trial: TrialAssignment, report: @escaping @Sendable (Int, Double) -> Bool) throws -> TrialResult {
        guard let record = try store.trial(study: trial.study, number: trial.number) else {
            throw SweepError(description: "trial \(trial.number) of study '\(trial.study)' is not in the store")
        }
        let batch = try batchJob(trial, attempt: record.retries)
        let job = try adoptOrSubmit(batch, trial: trial, recorded: record.job)
        return try follow(job: job, trial: trial, output: URL(fileURLWithPath: batch.outputPath), report: report)
    }

    /// The ID of the attempt's job: one already submitted (found by its name, or as recorded),
    /// else a new submission.
    private func adoptOrSubmit(_ batch: SlurmBatchJob, trial: TrialAssignment, recorded: String?) throws -> String {
        if let (id, state) = try commands.job(named: batch.name) {
            try store.recordTrialJob(study: trial.study, number: trial.number, job: id, state: state.name)
            return id
        }
        // Submitted once but forgotten by squeue: follow it (sacct, the run's summary, or a vanished job).
        if let recorded, Int(recorded) != nil { return recorded }
        try store.recordTrialJob(study: trial.study, number: trial.number, job: Self.submitting, state: nil)
        let script = trial.sibling("sbatch")
        try AtomicFile.write(Data(batch.script().utf8), to: script)
        let id = try commands.submit(script: script, options: batch.sbatchOptions())
        try store.recordTrialJob(study: trial.study, number: trial.number, job: id, state: "PENDING")
        return id
    }

    /// Follows the job to its end: reports epochs as they appear, cancels it when pruned.
    private func follow(job: String, trial: TrialAssignment, output: URL,
                        report: @Sendable (Int, Double) -> Bool) throws -> TrialResult {
        let results = RunResults(directory: trial.runDirectory)
        var reported = 0
        var known = ""
        var lastPoll = Date.distantPast, reachedAt = Date()
        while true {
            usleep(200_000)
            for (epoch, value) in objectives(results) where epoch > reported {
                reported = epoch
                if report(epoch, value) { return try prune(job: job, trial: trial, value: value) }
            }
            if Date().timeIntervalSince(lastPoll) >= sweep.slurm.pollSeconds {
                lastPoll = Date()
                let state: SlurmJobState?
                do { state = try commands.state(of: job); reachedAt = Date() } catch {
                    guard Date().timeIntervalSince(reachedAt) < unreachableLimit else { throw error }
                    continue
                }
                if let state, state.name != known {
                    known = state.name
                    try store.recordTrialJob(study: trial.study, number: trial.number, job: nil, state: known)
                }
                switch state {
                case .active: break
                case .completed: return try finish(job: job, results: results, reported: reported, report: report)
                case let .ended(name):
                    throw SweepError(description: "slurm job \(job) ended \(name): \(Self.tail(of: output))")
                case nil:
                    // Forgotten by squeue and sacct: ended while nobody watched, or lost.
                    if (try? results.summary()) != nil { return try finish(job: job, results: results, reported: reported, report: report) }
                    throw SweepError(description: "slurm job \(job) vanished (neither squeue nor sacct knows it): \(Self.tail(of: output))")
                }
            }
        }
    }

    /// A COMPLETED job: the epochs logged since the last look, then the objective.
    private func finish(job: String, results: RunResults, reported: Int,
                        report: @Sendable (Int, Double) -> Bool) throws -> TrialResult {
        for (epoch, value) in objectives(results) where epoch > reported {
            if report(epoch, value) { return .pruned(value) }
        }
        do { return .complete(try results.objective(sweep.metric, bestEpoch: sweep.useBestEpoch)) } catch {
            throw SweepError(description: "slurm job \(job) completed without a result: \(error)")
        }
    }

    /// Cancels a pruned trial's job and waits (up to a minute) until Slurm has ended it, so
    /// its `flock train` cannot record its run after the run is marked pruned.
    private func prune(job: String, trial: TrialAssignment, value: Double) throws -> TrialResult {
        try commands.cancel(job)
        let deadline = Date().addingTimeInterval(60)
        var state = try? commands.state(of: job)
        while case .active = state, Date() < deadline {
            usleep(200_000)
            state = try? commands.state(of: job)
        }
        try store.recordTrialJob(study: trial.study, number: trial.number, job: nil, state: state?.name ?? "CANCELLED")
        try? store.finishRun(id: trial.runDirectory.standardizedFileURL.path, status: .pruned)
        return .pruned(value)
    }

    /// (epoch, objective) of every complete line of `metrics.jsonl` that has the objective.
    private func objectives(_ results: RunResults) -> [(Int, Double)] {
        results.epochs().compactMap { line in line.values[sweep.metric].map { (line.epoch, $0) } }
    }

    /// The job output's last three lines, for error messages.
    static func tail(of output: URL) -> String {
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").suffix(3)
        return lines.isEmpty ? "no output in \(output.path)" : lines.joined(separator: " | ")
    }
}
