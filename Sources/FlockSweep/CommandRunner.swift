import Foundation
import FlockStore
import FlockTrain

/// Runs a trial as a `flock train` child process, as `mpirun -np K flock train`, or as a
/// supervised job (`flock train --np K --max-restarts N`, which starts mpirun itself).
///
/// The driver follows the trial through its `metrics.jsonl` (one line per epoch), reports
/// each epoch's objective, and terminates the child when the pruner says so. Children get
/// `--exit-with-pid <driver>`, so a killed driver leaves no orphan trial training on.
public struct CommandRunner: TrialRunner {
    let sweep: SweepConfig
    let storePath: String
    let executable: URL
    /// nil: a plain subprocess; K: `mpirun -np K`.
    let mpiRanks: Int?

    public init(sweep: SweepConfig, storePath: String, executable: URL, mpiRanks: Int?) {
        self.sweep = sweep
        self.storePath = storePath
        self.executable = executable
        self.mpiRanks = mpiRanks
    }

    /// The trial's `flock train` job, its config written beside its run directory.
    func job(_ trial: TrialAssignment) throws -> TrainProcess {
        var job = TrainProcess(executable: executable, configPath: try sweep.writeTrialConfig(trial).path)
        job.runDirectory = trial.runDirectory.path
        job.storePath = storePath
        job.parentPID = ProcessInfo.processInfo.processIdentifier
        job.resume = trial.resume
        job.mpirunRanks = mpiRanks
        job.supervisedMaxRestarts = sweep.maxRestartsPerTrial
        return job
    }

    public func run(_ trial: TrialAssignment, report: @escaping @Sendable (Int, Double) -> Bool) throws -> TrialResult {
        let process = try job(trial).process()
        let errorFile = trial.sibling("stderr")
        guard FileManager.default.createFile(atPath: errorFile.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: errorFile.path])
        }
        let errorHandle = try FileHandle(forWritingTo: errorFile)
        defer { try? errorHandle.close() }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorHandle
        try process.run()

        let results = RunResults(directory: trial.runDirectory)
        var reported = 0
        var prunedValue: Double? = nil
        while process.isRunning {
            usleep(50_000)
            for (epoch, value) in objectives(results) where epoch > reported {
                reported = epoch
                if report(epoch, value) {
                    prunedValue = value
                    process.terminate()
                    break
                }
            }
        }
        process.waitUntilExit()
        if let prunedValue {
            // The terminated child could not say so itself.
            try? ExperimentStore(path: storePath).finishRun(id: trial.runDirectory.standardizedFileURL.path, status: .pruned)
            return .pruned(prunedValue)
        }
        // Epochs logged after the last poll.
        for (epoch, value) in objectives(results) where epoch > reported {
            reported = epoch
            if report(epoch, value) { return .pruned(value) }
        }
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
            let tail = message.split(separator: "\n").suffix(3).joined(separator: " | ")
            throw SweepError(description: "flock train exited with status \(process.terminationStatus): \(tail)")
        }
        do { return .complete(try results.objective(sweep.metric, bestEpoch: sweep.useBestEpoch)) } catch {
            throw SweepError(description: "\(error)")
        }
    }

    /// (epoch, objective) of every complete line of `metrics.jsonl` that has the objective.
    private func objectives(_ results: RunResults) -> [(Int, Double)] {
        results.epochs().compactMap { line in line.values[sweep.metric].map { (line.epoch, $0) } }
    }
}
