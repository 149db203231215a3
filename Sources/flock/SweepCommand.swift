import ArgumentParser
import Flock
import Foundation

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a hyperparameter study; run the same command again to continue it after a stop.")

    @Argument(help: "The sweep file (YAML).")
    var sweepFile: String

    @Option(help: "Parallel trials (default: the sweep file's workers).")
    var workers: Int?

    @Option(help: "The store (default <dir>/flock.sqlite).")
    var store: String?

    @Option(help: "Where trials' run directories go (default runs/sweep-<study>).")
    var dir: String?

    func run() throws {
        do {
            let sweep = try SweepConfig.load(path: sweepFile)
            if let workers, !(1...1024).contains(workers) { throw CommandFailure("--workers: expected an integer in 1...1024, got \(workers)") }
            let folder = URL(fileURLWithPath: dir ?? "runs/sweep-\(sweep.study)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let storePath = store ?? folder.appendingPathComponent("flock.sqlite").path
            let experimentStore = try ExperimentStore(path: storePath)
            let runner: any TrialRunner
            switch sweep.launcher {
            case .inProcess:
                runner = InProcessRunner(sweep: sweep, storePath: storePath) { try $0.attachConfiguredObservers() }
            case .subprocess, .mpirun, .slurm:
                // Before anything is written: a missing sbatch is the sweep file's problem.
                let slurm = sweep.launcher == .slurm ? try SlurmCommands.locate() : nil
                let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
                if let slurm {
                    runner = try SlurmRunner(sweep: sweep, storePath: storePath,
                                             executable: executable, commands: slurm)
                } else {
                    runner = CommandRunner(sweep: sweep, storePath: storePath, executable: executable,
                                           mpiRanks: sweep.launcher == .mpirun ? sweep.ranksPerTrial : nil)
                }
            }
            let told = try sweep.optunaWarmStart()
            let driver = SweepDriver(sweep: sweep, store: experimentStore, directory: folder, runner: runner, told: told)
            print("study \(sweep.study): store \(storePath)")
            if let source = sweep.warmStart {
                print("warm start: the sampler is told \(told.count) finished trial(s) of Optuna study '\(source.study)' (\(source.storagePath))")
            }
            let trials = try driver.run(workers: workers) { trial in
                let value = trial.value.map { String(format: "%.4f", $0) } ?? "-"
                print("trial \(trial.number) \(trial.state.rawValue) \(sweep.metric) \(value) \(trial.params)\(trial.error.map { " error: \($0)" } ?? "")")
            }
            let finished = trials.filter { $0.state == .complete }
            let best = sweep.maximize ? finished.max { ($0.value ?? -.infinity) < ($1.value ?? -.infinity) }
                                      : finished.min { ($0.value ?? .infinity) < ($1.value ?? .infinity) }
            let counts = TrialRecord.State.allCases.map { state in "\(trials.filter { $0.state == state }.count) \(state.rawValue)" }
            print("done: \(trials.count) trials (\(counts.joined(separator: ", ")))")
            if let best { print("best: trial \(best.number) \(sweep.metric) \(best.value!) \(best.params)") }
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}

struct TrialsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trials", abstract: "List a study's trials; --best also writes the best trial's config.")

    @Argument(help: "The store (flock.sqlite).")
    var store: String

    @Option(help: "The study (default: the only one, or the newest).")
    var study: String?

    @Flag(help: "Show the best complete trial and write its training config as YAML.")
    var best = false

    @Flag(help: "Print JSON.")
    var json = false

    @Option(name: .customLong("export-optuna"), help: "Write the study as an Optuna \(OptunaStudyExport.optunaVersion) SQLite storage (optuna.load_study and optuna-dashboard open it).")
    var exportOptuna: String?

    func run() throws {
        do {
            guard FileManager.default.fileExists(atPath: store) else { throw CommandFailure("\(store): no such store") }
            if let exportOptuna {
                let written = try OptunaStudyExport.write(storePath: store, study: study, to: URL(fileURLWithPath: exportOptuna))
                print("study \(written.study): \(written.trials) trial(s) written to \(exportOptuna) (optuna.load_study(study_name=\"\(written.study)\", storage=\"sqlite:///\(exportOptuna)\"))")
                return
            }
            let report = try StudyReport(storePath: store, study: study)
            let trials = best ? report.best.map { [$0] } ?? [] : report.trials
            var bestConfigPath: String?
            if best, let winner = report.best {
                let path = URL(fileURLWithPath: store).deletingLastPathComponent()
                    .appendingPathComponent("best-\(report.study.name).yaml").path
                try AtomicFile.write(Data(try report.bestConfigYAML(winner).utf8), to: URL(fileURLWithPath: path))
                bestConfigPath = path
            }
            if json {
                var object: [String: Any] = ["study": report.study.name, "direction": report.study.direction,
                                             "trials": trials.map(StudyReport.jsonObject)]
                if let bestConfigPath { object["best_config"] = bestConfigPath }
                try JSONOutput.print(object, pretty: true)
                return
            }
            print("study \(report.study.name) (\(report.study.direction))")
            print("trial  state     value       seconds  params")
            for trial in trials {
                let value = trial.value.map { String(format: "%.6f", $0) } ?? "-"
                let seconds = trial.duration.map { String(format: "%.1f", $0) } ?? "-"
                // A running trial whose batch job waits in the scheduler's queue shows as queued.
                let state = trial.state == .running && trial.jobState == "PENDING" ? "queued" : trial.state.rawValue
                print("\(String(trial.number).padding(toLength: 6, withPad: " ", startingAt: 0)) \(state.padding(toLength: 9, withPad: " ", startingAt: 0)) \(value.padding(toLength: 11, withPad: " ", startingAt: 0)) \(seconds.padding(toLength: 8, withPad: " ", startingAt: 0)) \(trial.params)\(trial.error.map { "  error: \($0)" } ?? "")")
            }
            if best && trials.isEmpty { print("no complete trial yet") }
            if let bestConfigPath { print("best config written to \(bestConfigPath)") }
        } catch let error as CommandFailure {
            throw error
        } catch {
            throw CommandFailure("\(error)")
        }
    }
}
