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

    @Option(name: .customLong(TrainProcess.Option.set), help: "Override a config value: key.path=value (repeatable), e.g. optimizer.lr=0.01.")
    var overrides: [String] = []

    @Option(name: .customLong(TrainProcess.Option.runDirectory), help: "Output folder (default runs/<name>-<time>).")
    var runDirectory: String?

    @Option(name: .customLong(TrainProcess.Option.ranks), help: "Simulate this many data-parallel ranks as threads in this process.")
    var ranks: Int?

    @Flag(name: .customLong(TrainProcess.Option.resume), help: "Continue the run in --run-dir from its last checkpoint.")
    var resume = false

    @Option(name: .customLong(TrainProcess.Option.store), help: "The experiment store (default flock.sqlite beside the run directory).")
    var store: String?

    @Option(name: .customLong(TrainProcess.Option.exitWithPID), help: .hidden)
    var exitWithPID: Int32?

    @Option(name: .customLong(TrainProcess.Option.np), help: "Supervise an mpirun job of N ranks: relaunch it on the slots still alive when a rank or host dies, from the newest checkpoint.")
    var np: Int?

    @Option(name: .customLong(TrainProcess.Option.maxRestarts), help: "With --np: relaunches before giving up (default elastic.max_restarts, else \(ElasticConfig.defaultMaxRestarts)).")
    var maxRestarts: Int?

    @Option(name: .customLong(TrainProcess.Option.hostfile), help: "With --np: the Open MPI hostfile of the hosts to run on, probed again before each relaunch.")
    var hostfile: String?

    @Option(help: "k-fold cross-validation: train K times, fold i held out in <run-dir>/fold-i; report each metric's mean and spread.")
    var kfold: Int?

    func validate() throws {
        if let kfold, kfold < 2 { throw ValidationError("--kfold: expected at least 2 folds, got \(kfold)") }
        if kfold != nil && resume { throw ValidationError("--kfold cannot be combined with --resume: resume each fold's run (<run-dir>/fold-i) instead") }
        do { _ = try RankLaunch.choose(ranks: ranks) } catch { throw ValidationError("\(error)") }
        try validateSupervision()
    }

    func run() throws {
        // A supervisor ends its job first (as on SIGTERM); a rank just exits.
        if let exitWithPID { np == nil ? ParentWatch.exit(whenGone: exitWithPID) : ParentWatch.terminate(whenGone: exitWithPID) }
        let resolved: TrainingConfig
        do { resolved = try ConfigLoader.load(path: config, overrides: overrides) } catch {
            let failure = CommandFailure("\(config): \(error)")
            SupervisorChannel.fromEnvironment()?.recordFailure(rank: RankLaunch.mpirunWorldRank() ?? 0, failure)
            throw failure
        }
        if let np { return try supervise(resolved, ranks: np) }
        let launch = try RankLaunch.choose(ranks: ranks)
        var launcher = JobLauncher(launch: launch)
        if let channel = SupervisorChannel.fromEnvironment() {
            // The supervisor learns whether this was a lost rank or an error that would recur.
            launcher.onRankFailure = { rank, error in
                FileHandle.standardError.write(Data("error: rank \(rank): \(error)\n".utf8))
                channel.recordFailure(rank: rank, error)
            }
        }
        if case .localRanks = launch, let timeout = resolved.parallel.collectiveTimeout { launcher.deadline = timeout }
        let command = self
        do {
            try launcher.run { communicator in try command.train(resolved, communicator: communicator) }
        } catch {
            // Local ranks and MPI start-up failures are reported in one line.
            if case .singleProcess = launch { throw error }
            throw CommandFailure("\(error)")
        }
    }

    /// One rank's whole job; only rank 0 prints and writes.
    private func train(_ resolved: TrainingConfig, communicator: (any Communicator)?) throws {
        if let kfold { return try crossValidate(resolved, folds: kfold, communicator: communicator) }
        let isLeader = (communicator?.rank ?? 0) == 0
        if isLeader { print(BLASChoice.current()) }
        let training = try TrainingRun(config: resolved, runDirectory: runDirectory, communicator: communicator,
                                       resume: resume, storePath: store)
        try training.attachConfiguredObservers()
        if let directory = training.directory {
            print(resume ? "resuming \(directory.url.path) after epoch \(training.trainer.completedEpochs)"
                         : "run directory: \(directory.url.path)")
        }
        if isLeader { print(training.trainer.precision) }
        if isLeader { for note in training.resumeNotes { print("note: \(note)") } }
        if isLeader, let report = training.trainer.initializationReport { print(report) }
        let plan = training.trainer.parts.sharding.summary
        if isLeader && !plan.isEmpty { print(plan) }
        if isLeader { print(training.trainer.memoryEstimate.line) }
        // The bar clears its line at an epoch's end before the epoch's line is printed.
        if isLeader, let bar = ProgressBar.forStandardOutput() { training.trainer.observers.append(bar) }
        let summary = try training.run { record in
            if isLeader { print(ProgressLine.epoch(record, of: resolved.epochs)) }
        }
        if isLeader { print(ProgressLine.summary(summary)) }
    }
}

/// A user-facing failure: printed as `Error: …` on stderr, exit status 1.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

extension TrainCommand {
    /// `--kfold K`: the K fold runs one after another, then the spread of each metric.
    func crossValidate(_ resolved: TrainingConfig, folds: Int, communicator: (any Communicator)?) throws {
        let isLeader = (communicator?.rank ?? 0) == 0
        let parent = runDirectory ?? RunDirectory.defaultPath(name: resolved.name)
        let summary = try CrossValidation.run(resolved, folds: folds, runDirectory: parent, communicator: communicator,
                                              storePath: store) { fold, run in
            try run.attachConfiguredObservers()
            if isLeader { print("fold \(fold + 1)/\(folds): \(run.directory?.url.path ?? parent)") }
        }
        if isLeader {
            print("\(folds)-fold cross-validation (mean ± sample standard deviation over the folds):")
            print(summary)
        }
    }
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
