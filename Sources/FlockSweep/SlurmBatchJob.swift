import FlockTrain
import Foundation

/// One trial attempt as a Slurm batch job: the script that runs its `flock train` (under
/// `mpirun` when a trial has several ranks) and the `sbatch` options that submit it.
///
/// The job is named after the store, study, trial and attempt
/// (`flock.digits.3.0.1a2b3c4d`), so a driver that starts again finds the job of an
/// attempt already submitted instead of submitting it twice.
public struct SlurmBatchJob: Sendable, Equatable {
    /// The trial's `flock train` command (its executable, config, overrides, store).
    public var train: TrainProcess
    public var ranks: Int
    public var options: SlurmOptions
    public var name: String
    /// Where the job writes its output (both streams; attempts append).
    public var outputPath: String
    /// The folder the job starts in: the driver's, so relative paths mean the same.
    public var workingDirectory: String
    /// Pass `--allow-run-as-root` to mpirun (the driver runs as root).
    public var asRoot = getuid() == 0

    /// The job name of `attempt` (0-based) at trial `number` of `study` in the store at `storePath`.
    public static func name(storePath: String, study: String, number: Int, attempt: Int) -> String {
        let safeStudy = String(study.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") ? $0 : "_" }.prefix(64))
        return "flock.\(safeStudy).\(number).\(attempt).\(fnv1a(URL(fileURLWithPath: storePath).standardizedFileURL.path))"
    }

    /// The batch script's text.
    public func script() -> String {
        if train.supervisedMaxRestarts != nil { return supervisedScript() }
        let command = train.invocation(base: [:])
        var words = [command.executable.path] + command.arguments
        if ranks > 1 {
            var mpirun = MPIRunCommand(ranks: ranks)
            mpirun.oversubscribe = false
            mpirun.asRoot = asRoot
            mpirun.insideSlurmAllocation = true
            words = mpirun.words(running: command.executable.path, command.arguments)
        }
        return """
            #!/usr/bin/env bash
            # A trial of a Flock sweep (launcher: slurm), written and submitted by `flock sweep`.
            set -euo pipefail
            cd \(Self.quoted(workingDirectory))
            # Each rank's OpenBLAS threads are its cores (slurm.cpus_per_task).
            export OPENBLAS_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
            exec \(words.map(Self.quoted).joined(separator: " "))

            """
    }

    /// The batch script of a supervised trial: `flock train --np K --max-restarts N` starts
    /// mpirun itself on a hostfile of the allocation's nodes (probed again at each restart),
    /// as `cluster/slurm/train.sbatch` does with `MAX_RESTARTS`.
    func supervisedScript() -> String {
        var supervised = train
        supervised.mpirunRanks = ranks
        let command = supervised.invocation(base: [:])
        let words = [command.executable.path] + command.arguments
        return """
            #!/usr/bin/env bash
            # A supervised trial of a Flock sweep (launcher: slurm, max_restarts_per_trial), written and submitted by `flock sweep`.
            set -euo pipefail
            cd \(Self.quoted(workingDirectory))
            export OPENBLAS_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
            hostfile="${TMPDIR:-/tmp}/flock-hosts-$SLURM_JOB_ID"
            # Slots per node: the tasks per node asked for, else the tasks spread evenly.
            per_node=${SLURM_NTASKS_PER_NODE:-$(( (SLURM_NTASKS + SLURM_JOB_NUM_NODES - 1) / SLURM_JOB_NUM_NODES ))}
            scontrol show hostnames "$SLURM_JOB_NODELIST" | sed "s/\\$/ slots=$per_node/" >"$hostfile"
            status=0
            \(words.map(Self.quoted).joined(separator: " ")) --\(TrainProcess.Option.hostfile) "$hostfile" || status=$?
            rm -f "$hostfile"
            exit $status

            """
    }

    /// `sbatch` options (the script path follows them). The job is never requeued by Slurm:
    /// a failed attempt is the driver's to retry (from the trial's last checkpoint). A
    /// supervised trial keeps its allocation when a node fails (`--no-kill`), so it has
    /// somewhere to relaunch.
    public func sbatchOptions() -> [String] {
        var arguments = ["--job-name=\(name)", "--output=\(outputPath)", "--open-mode=append", "--no-requeue",
                         "--ntasks=\(ranks)", "--cpus-per-task=\(options.cpusPerTask)"]
        if train.supervisedMaxRestarts != nil { arguments.append("--no-kill") }
        if let partition = options.partition { arguments.append("--partition=\(partition)") }
        if let limit = options.timeLimit { arguments.append("--time=\(limit)") }
        return arguments + options.extraArguments
    }

    /// `'text'` for bash, with embedded quotes escaped.
    static func quoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// FNV-1a of the text, 8 hex digits: a short, stable tag for a store path.
    private static func fnv1a(_ text: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in text.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return String(format: "%08x", hash)
    }
}
