import Foundation

/// Runs a trial as a `flock train` child process, or as `mpirun -np K flock train`.
///
/// The driver follows the trial through its `metrics.jsonl` (one line per epoch), reports
/// each epoch's objective, and terminates the child when the pruner says so. Children get
/// `--exit-with-pid <driver>`, so a killed driver leaves no orphan trial training on.
public struct CommandRunner: TrialRunner {
    let sweep: SweepConfig
    let baseConfigPath: String
    let storePath: String
    let executable: URL
    /// nil: a plain subprocess; K: `mpirun -np K`.
    let mpiRanks: Int?

    public init(sweep: SweepConfig, baseConfigPath: String, storePath: String, executable: URL, mpiRanks: Int?) {
        self.sweep = sweep
        self.baseConfigPath = baseConfigPath
        self.storePath = storePath
        self.executable = executable
        self.mpiRanks = mpiRanks
    }

    public func run(_ trial: TrialAssignment, report: @escaping @Sendable (Int, Double) -> Bool) throws -> TrialResult {
        var arguments = ["train", baseConfigPath, "--run-dir", trial.runDirectory.path, "--store", storePath,
                         "--exit-with-pid", "\(ProcessInfo.processInfo.processIdentifier)"]
        for override in SweepConfig.overrides(trial.params) { arguments += ["--set", override] }
        if trial.resume { arguments.append("--resume") }
        let process = Process()
        if let ranks = mpiRanks {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["mpirun", "--oversubscribe", "--allow-run-as-root", "-np", "\(ranks)", executable.path] + arguments
        } else {
            process.executableURL = executable
            process.arguments = arguments
        }
        var environment = ProcessInfo.processInfo.environment
        environment["OPENBLAS_NUM_THREADS"] = environment["OPENBLAS_NUM_THREADS"] ?? "1"
        process.environment = environment
        let errorFile = trial.runDirectory.deletingLastPathComponent()
            .appendingPathComponent("\(trial.runDirectory.lastPathComponent).stderr")
        guard FileManager.default.createFile(atPath: errorFile.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: errorFile.path])
        }
        let errorHandle = try FileHandle(forWritingTo: errorFile)
        defer { try? errorHandle.close() }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorHandle
        try process.run()

        let metrics = trial.runDirectory.appendingPathComponent("metrics.jsonl")
        var reported = 0
        var prunedValue: Double? = nil
        while process.isRunning {
            usleep(50_000)
            for (epoch, value) in Self.epochs(in: metrics, metric: sweep.metric) where epoch > reported {
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
        for (epoch, value) in Self.epochs(in: metrics, metric: sweep.metric) where epoch > reported {
            reported = epoch
            if report(epoch, value) { return .pruned(value) }
        }
        guard process.terminationStatus == 0 else {
            let message = (try? String(contentsOf: errorFile, encoding: .utf8)) ?? ""
            let tail = message.split(separator: "\n").suffix(3).joined(separator: " | ")
            throw SweepError(description: "flock train exited with status \(process.terminationStatus): \(tail)")
        }
        let summaryURL = trial.runDirectory.appendingPathComponent("summary.json")
        guard let data = FileManager.default.contents(atPath: summaryURL.path),
              let summary = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let values = summary[sweep.useBestEpoch ? "best" : "final"] as? [String: Double],
              let value = values[sweep.metric] else {
            throw SweepError(description: "\(summaryURL.path): no \(sweep.metric) in the run's summary")
        }
        return .complete(value)
    }

    /// (epoch, objective) of every complete line of `metrics.jsonl`.
    static func epochs(in url: URL, metric: String) -> [(Int, Double)] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let epoch = object["epoch"] as? Int, let value = object[metric] as? Double else { return nil }
            return (epoch, value)
        }
    }
}
