import ArgumentParser
import Flock
import Foundation

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model from a YAML config.",
        discussion: """
            Runs as one process, as N ranks in this process (--ranks N), or as one rank of an \
            MPI job when started by mpirun (mpirun -np N flock train CONFIG).
            """)

    @Argument(help: "The training config (YAML).")
    var config: String

    @Option(name: .customLong("set"), help: "Override a config value: key.path=value (repeatable), e.g. optimizer.lr=0.01.")
    var overrides: [String] = []

    @Option(name: .customLong("run-dir"), help: "Output folder (default runs/<name>-<time>).")
    var runDirectory: String?

    @Option(help: "Simulate this many data-parallel ranks as threads in this process.")
    var ranks: Int?

    @Flag(help: "Continue the run in --run-dir from its last checkpoint.")
    var resume = false

    @Option(help: "The experiment store (default flock.sqlite beside the run directory).")
    var store: String?

    @Option(name: .customLong("exit-with-pid"), help: .hidden)
    var exitWithPID: Int32?

    func validate() throws {
        if let ranks, ranks < 1 { throw ValidationError("--ranks: expected a positive integer, got \(ranks)") }
        if ranks != nil && MPIEnvironment.launchedByMPIRun() {
            throw ValidationError("--ranks cannot be combined with mpirun: mpirun already starts the ranks")
        }
    }

    func run() throws {
        if let exitWithPID { ParentWatch.exit(whenGone: exitWithPID) }
        let resolved: TrainingConfig
        do { resolved = try ConfigLoader.load(path: config, overrides: overrides) } catch {
            throw CommandFailure("\(config): \(error)")
        }
        if MPIEnvironment.launchedByMPIRun() {
            try runUnderMPI(resolved)
        } else if let ranks, ranks > 1 {
            try runLocal(resolved, ranks: ranks)
        } else {
            try train(resolved, communicator: nil)
        }
    }

    /// One rank's whole job; only rank 0 prints and writes.
    private func train(_ resolved: TrainingConfig, communicator: (any Communicator)?) throws {
        let isLeader = (communicator?.rank ?? 0) == 0
        let training = try TrainingRun(config: resolved, runDirectory: runDirectory, communicator: communicator,
                                       resume: resume, storePath: store)
        if let directory = training.directory {
            print(resume ? "resuming \(directory.url.path) after epoch \(training.trainer.completedEpochs)"
                         : "run directory: \(directory.url.path)")
        }
        let bar = isLeader ? ProgressBar.forStandardOutput() : nil
        if let bar { training.trainer.onBatch = { bar.update($0) } }
        let summary = try training.run { record in
            bar?.finishEpoch()
            if isLeader { print(ProgressLine.epoch(record, of: resolved.epochs)) }
        }
        if isLeader { print(ProgressLine.summary(summary)) }
    }

    private func runLocal(_ resolved: TrainingConfig, ranks: Int) throws {
        let deadline = resolved.parallel.collectiveTimeout ?? CollectiveDeadline.fromEnvironment(ProcessInfo.processInfo.environment)
        do {
            _ = try LocalCommunicator.run(ranks: ranks, deadline: deadline) { comm in
                try train(resolved, communicator: comm)
            }
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    private func runUnderMPI(_ resolved: TrainingConfig) throws {
        let environment: MPIEnvironment
        let world: MPICommunicator
        do {
            environment = try MPIEnvironment()
            world = try environment.world()
        } catch {
            throw CommandFailure("\(error)")
        }
        do {
            try train(resolved, communicator: world)
        } catch {
            FileHandle.standardError.write(Data("error: rank \(world.rank): \(error)\n".utf8))
            // Peers may be waiting in a collective: end the whole job, non-zero.
            environment.abort(code: 1)
        }
        environment.finalize()
    }
}

/// A user-facing failure: printed as `Error: …` on stderr, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

enum ProgressLine {
    static func epoch(_ record: EpochRecord, of total: Int) -> String {
        let ordered = record.metrics.keys.sorted { order($0) < order($1) }
        let values = ordered.map { "\($0) \(format(record.metrics[$0]!))" }.joined(separator: "  ")
        return "epoch \(record.epoch)/\(total)  \(values)  lr \(format(Double(record.learningRate)))  \(Int(record.samplesPerSecond)) samples/s"
    }

    static func summary(_ summary: TrainingSummary) -> String {
        let validation = summary.best.keys.filter { $0.hasPrefix("val_") }
        // Without a validation split, the training metrics are all there is.
        let shown = validation.isEmpty ? Array(summary.best.keys) : validation
        let best = shown.sorted().map { "\($0) \(format(summary.best[$0]!))" }
        return "done: \(summary.epochsRun) epochs\(summary.stoppedEarly ? " (stopped early)" : "") on \(summary.worldSize) rank\(summary.worldSize == 1 ? "" : "s"), best \(best.joined(separator: ", ")), \(Int(summary.samplesPerSecond)) samples/s"
    }

    private static func order(_ name: String) -> String {
        (name.hasPrefix("val_") ? "1" : "0") + (name.hasSuffix("loss") ? "0" : "1") + name
    }

    private static func format(_ value: Double) -> String {
        String(format: abs(value) < 1e-3 && value != 0 ? "%.3e" : "%.4f", value)
    }
}

/// Ends this process when another one is gone: a sweep's trials watch their driver, so a
/// killed driver leaves no orphan training on (its restart resumes the trial instead).
enum ParentWatch {
    static func exit(whenGone pid: Int32) {
        let thread = Thread {
            while true {
                if kill(pid, 0) != 0 && errno == ESRCH { Foundation.exit(3) }
                usleep(250_000)
            }
        }
        thread.start()
    }
}
