import FlockStore
import FlockTestSupport
import FlockTrain
import Foundation
import Testing
@testable import FlockSweep

/// `flock sweep` with `launcher: slurm` through a real one-node Slurm (Debian's slurmctld,
/// slurmd and munged, started by `cluster/slurm/local-cluster` for each test and stopped
/// after it). Needs root and the slurm-wlm and munge packages (`cluster/run-tests.sh`
/// installs them). Every process runs under a deadline.
@Suite(.serialized, .enabled(if: LocalSlurm.usable, "needs root and Slurm's daemons and clients (apt-get install slurm-wlm munge)"))
struct SlurmSweepTests {
    /// A sweep over the learning rate (grid order: the choices as listed) on digits.
    func writeSweep(_ folder: TemporaryFolder, rates: [Double], epochs: Int, extra: String = "") throws -> URL {
        try folder.write("sweep.yaml", """
            study: slurm
            base_config:
              seed: 3
              epochs: \(epochs)
              data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 64}
              model: [{type: dense, units: 16, activation: relu}, {type: dense, units: 10}]
              optimizer: {name: adam}
            space:
              - {name: optimizer.lr, type: categorical, choices: [\(rates.map { "\($0)" }.joined(separator: ", "))]}
            objective: {metric: val_accuracy, direction: maximize}
            budget: {trials: \(rates.count)}
            sampler: {name: grid}
            launcher: slurm
            heartbeat_timeout: 2
            slurm: {poll_seconds: 0.3, time_limit: 10}
            \(extra)
            """)
    }

    func storedTrials(_ folder: TemporaryFolder) throws -> [TrialRecord] {
        try ExperimentStore(path: folder.url.appendingPathComponent("study/flock.sqlite").path, readOnly: true).trials(ofStudy: "slurm")
    }

    func arguments(_ sweep: URL, _ folder: TemporaryFolder, workers: Int) -> [String] {
        ["sweep", sweep.path, "--workers", "\(workers)", "--dir", folder.url.appendingPathComponent("study").path]
    }

    /// The best val_accuracy in a trial's `summary.json`, read here without Flock's types.
    func summaryBest(_ trial: TrialRecord) throws -> Double? {
        struct Summary: Decodable { let best: [String: Double] }
        let data = try Data(contentsOf: URL(fileURLWithPath: try #require(trial.runDirectory)).appendingPathComponent("summary.json"))
        return try JSONDecoder().decode(Summary.self, from: data).best["val_accuracy"]
    }

    /// Runs `body` with a fresh local cluster; afterwards nothing of it, and no trial process, is left.
    func withCluster(_ folder: TemporaryFolder, _ body: (LocalSlurm) throws -> Void) throws {
        let slurm = try LocalSlurm()
        do { try body(slurm) } catch {
            _ = try? slurm.stop()
            throw error
        }
        #expect(try slurm.stop().isEmpty, "processes left after stopping the cluster")
        #expect(LocalSlurm.processes(mentioning: folder.url.path).isEmpty, "trial processes left behind")
    }

    @Test func twoTrialsRunAsSlurmJobsAndReportIntoTheStore() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // Two ranks each under mpirun inside the job; on a 2-core node the second job waits in the queue.
        let sweep = try writeSweep(folder, rates: [0.01, 0.003], epochs: 3, extra: "ranks_per_trial: 2")
        try withCluster(folder) { slurm in
            let outcome = try ChildProcess.flock(arguments(sweep, folder, workers: 2), timeout: 120, environment: slurm.environment)
            #expect(outcome.status == 0, "\(outcome.output)")
            let trials = try storedTrials(folder)
            #expect(trials.map(\.state) == [.complete, .complete], "\(trials.map { ($0.state, $0.error ?? "") })")
            for trial in trials {
                let best = try summaryBest(trial)
                #expect(trial.value != nil && trial.value == best, "trial \(trial.number): \(String(describing: trial.value)) vs summary \(String(describing: best))")
                #expect(trial.jobState == "COMPLETED" && trial.job == nil && trial.retries == 0)
            }
            // One Slurm job per trial, each completed, named after its trial's first attempt.
            let jobs = try slurm.jobs()
            #expect(jobs.map(\.state) == ["COMPLETED", "COMPLETED"], "\(jobs)")
            #expect(jobs.map { $0.name.split(separator: ".").dropFirst().prefix(3).joined(separator: ".") }.sorted() == ["slurm.0.0", "slurm.1.0"])
            // Each trial's flock train recorded its run in the sweep's store.
            let runs = try ExperimentStore(path: folder.url.appendingPathComponent("study/flock.sqlite").path, readOnly: true).runs()
            #expect(runs.count == 2 && runs.allSatisfy { $0.status == .completed && $0.worldSize == 2 }, "\(runs.map { ($0.status, $0.worldSize) })")
        }
    }

    /// `max_restarts_per_trial` under Slurm: the trial's batch job runs `flock train --np 2
    /// --max-restarts 1` on a hostfile of its allocation; rank 1 of the first launch dies
    /// at step 30 and the trial heals and completes.
    @Test func aSupervisedTrialHealsALostRankInsideItsJob() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let sweep = try writeSweep(folder, rates: [0.01], epochs: 3, extra: "ranks_per_trial: 2\nmax_restarts_per_trial: 1")
        try withCluster(folder) { slurm in
            let environment = slurm.environment.merging(["FLOCK_FAULT_KILL": "1:30"]) { $1 }
            let outcome = try ChildProcess.flock(arguments(sweep, folder, workers: 1), timeout: 180, environment: environment)
            #expect(outcome.status == 0, "\(outcome.output)")
            let trials = try storedTrials(folder)
            #expect(trials.map(\.state) == [.complete] && trials.first?.retries == 0, "\(trials.map { ($0.state, $0.error ?? "") })")
            let store = try ExperimentStore(path: folder.url.appendingPathComponent("study/flock.sqlite").path, readOnly: true)
            let run = try #require(try store.runs().first)
            let restarts = try store.restarts(runID: run.id)
            #expect(restarts.count == 1 && restarts.first?.cause.contains("rank 1") == true, "\(restarts)")
            #expect(try slurm.jobs().map(\.state) == ["COMPLETED"])
        }
    }

    /// `cluster/slurm/train.sbatch` on the one local node (the script asks for 2 nodes) with 2
    /// tasks, training digits with `settings`; returns the job's output and `summary.json`.
    func trainBatchJob(_ slurm: LocalSlurm, _ folder: TemporaryFolder, settings: [String], environment extra: [String: String] = [:],
                       timeout: TimeInterval = 120) throws -> (output: String, summary: [String: Any]) {
        let script = ChildProcess.repositoryRoot.appendingPathComponent("cluster/slurm/train.sbatch").path
        let run = folder.url.appendingPathComponent("run")
        let environment = slurm.environment.merging([
            "FLOCK": ChildProcess.flockExecutable.path, "RUN_DIR": run.path,
            "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
        ]) { $1 }.merging(extra) { $1 }
        let outcome = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"),
            ["sbatch", "--wait", "--nodes=1", "--ntasks-per-node=2", "--output=\(folder.url.path)/job.out", script,
             ChildProcess.repositoryRoot.appendingPathComponent("examples/digits-mlp.yaml").path] + settings.flatMap { ["--set", $0] },
            timeout: timeout, environment: environment, stopSignal: SIGTERM)
        let output = (try? String(contentsOf: folder.url.appendingPathComponent("job.out"), encoding: .utf8)) ?? ""
        #expect(outcome.status == 0, "\(outcome.output) \(output)")
        let summary = (try? Data(contentsOf: run.appendingPathComponent("summary.json")))
            .flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
        return (output, summary)
    }

    /// `cluster/slurm/train.sbatch` (data-parallel `flock train`, mpirun inside the allocation) on the local node.
    @Test func theTrainBatchScriptTrainsOnTwoRanks() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        try withCluster(folder) { slurm in
            let job = try trainBatchJob(slurm, folder, settings: ["epochs=1"])
            #expect(job.summary["world_size"] as? Int == 2 && job.summary["epochs_run"] as? Int == 1, "\(job.output)")
            #expect(try slurm.jobs().map(\.state) == ["COMPLETED"])
        }
    }

    /// `train.sbatch` with MAX_RESTARTS: a supervised job whose rank 1 dies at step 25 is
    /// relaunched on the allocation's node (probed through a hostfile) and completes.
    @Test func theTrainBatchScriptHealsAKilledRankWithMaxRestarts() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        try withCluster(folder) { slurm in
            let job = try trainBatchJob(slurm, folder, settings: ["epochs=2", "elastic.snapshot_every_steps=10"],
                                        environment: ["MAX_RESTARTS": "1", "FLOCK_FAULT_KILL": "1:25"], timeout: 180)
            #expect(job.output.contains("supervisor: rank 1 on"), "\(job.output)")
            #expect(job.summary["world_size"] as? Int == 2 && (job.summary["restarts"] as? [Any])?.count == 1, "\(job.output)")
            #expect(try slurm.jobs().map(\.state) == ["COMPLETED"])
        }
    }

    @Test func aPrunedTrialsJobIsCancelled() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // Trial 1's rate barely moves the weights: after its first epoch it is far below trial 0.
        let epochs = 40
        let sweep = try writeSweep(folder, rates: [0.01, 0.000001], epochs: epochs,
                                   extra: "pruner: {name: median, startup_trials: 1, warmup_steps: 0}")
        try withCluster(folder) { slurm in
            let outcome = try ChildProcess.flock(arguments(sweep, folder, workers: 1), timeout: 180, environment: slurm.environment)
            #expect(outcome.status == 0, "\(outcome.output)")
            let trials = try storedTrials(folder)
            #expect(trials.map(\.state) == [.complete, .pruned], "\(trials.map { ($0.state, $0.error ?? "") })")
            #expect(trials[1].jobState == "CANCELLED")
            let jobs = try slurm.jobs()
            #expect(jobs.map(\.state) == ["COMPLETED", "CANCELLED"], "\(jobs)")
            // Stopped part-way: fewer epochs logged than configured, and its run recorded pruned.
            let logged = try String(contentsOfFile: try #require(trials[1].runDirectory) + "/metrics.jsonl", encoding: .utf8)
            #expect(logged.split(separator: "\n").count < epochs)
            let runs = try ExperimentStore(path: folder.url.appendingPathComponent("study/flock.sqlite").path, readOnly: true).runs()
            #expect(runs.first { $0.directory == trials[1].runDirectory }?.status == .pruned, "\(runs.map { ($0.directory, $0.status) })")
        }
    }

    @Test func aRestartedDriverTakesOverTheJobsOfTheKilledOne() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let sweep = try writeSweep(folder, rates: [0.01, 0.003], epochs: 30)
        try withCluster(folder) { slurm in
            let driver = try BackgroundProcess(ChildProcess.flockExecutable, arguments(sweep, folder, workers: 2),
                                               environment: slurm.environment, log: folder.url.appendingPathComponent("driver.log"))
            defer { driver.kill() }
            // Killed once both trials' jobs run.
            let running = try waitFor(seconds: 60) {
                let trials = (try? storedTrials(folder)) ?? []
                return trials.count == 2 && trials.allSatisfy { $0.jobState == "RUNNING" } ? trials : nil
            }
            driver.kill()
            #expect(try slurm.jobs().map(\.state) == ["RUNNING", "RUNNING"], "the jobs outlive their driver")

            let restarted = try ChildProcess.flock(arguments(sweep, folder, workers: 2), timeout: 180, environment: slurm.environment)
            #expect(restarted.status == 0, "\(restarted.output)")
            let trials = try storedTrials(folder)
            #expect(trials.map(\.state) == [.complete, .complete], "\(trials.map { ($0.state, $0.error ?? "") })")
            // Taken over, not submitted again: still one job per trial, and no attempt counted as failed.
            let jobs = try slurm.jobs()
            #expect(jobs.map(\.id).sorted() == running.map { $0.job! }.sorted() && jobs.map(\.state) == ["COMPLETED", "COMPLETED"],
                    "\(jobs) vs \(running.map { $0.job ?? "-" })")
            for trial in trials {
                let best = try summaryBest(trial)
                #expect(trial.retries == 0 && trial.value == best, "trial \(trial.number)")
            }
        }
    }

    @Test func aJobCancelledOutsideTheDriverIsAFailedAttemptAndRetried() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let sweep = try writeSweep(folder, rates: [0.01], epochs: 30, extra: "max_retries: 1")
        try withCluster(folder) { slurm in
            let driver = try BackgroundProcess(ChildProcess.flockExecutable, arguments(sweep, folder, workers: 1),
                                               environment: slurm.environment, log: folder.url.appendingPathComponent("driver.log"))
            defer { driver.kill() }
            let first = try waitFor(seconds: 60) { (try? storedTrials(folder))?.first { $0.jobState == "RUNNING" } }
            let cancel = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), ["scancel", try #require(first.job)],
                                              timeout: 30, environment: slurm.environment)
            #expect(cancel.status == 0, "\(cancel.output)")
            #expect(driver.wait(seconds: 180) == 0, "\(driver.output())")
            let trials = try storedTrials(folder)
            #expect(trials.count == 1 && trials[0].state == .complete && trials[0].retries == 1, "\(trials.map { ($0.state, $0.error ?? "") })")
            #expect(trials[0].error?.contains("slurm job \(first.job!) ended CANCELLED") == true, "\(trials[0].error ?? "")")
            // The retry is a second job, named after attempt 1.
            let jobs = try slurm.jobs()
            #expect(jobs.map(\.state) == ["CANCELLED", "COMPLETED"], "\(jobs)")
            #expect(jobs.map { $0.name.split(separator: ".")[3] } == ["0", "1"])
        }
    }

    /// Polls `probe` every 0.2 s until it returns something, for at most `seconds`.
    func waitFor<T>(seconds: Double, _ probe: () throws -> T?) throws -> T {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let value = try probe() { return value }
            usleep(200_000)
        }
        throw SweepError(description: "gave up after \(seconds) s")
    }
}

/// A one-node Slurm from `cluster/slurm/local-cluster`; its watcher stops it if this test
/// process dies first.
struct LocalSlurm {
    static let script = ChildProcess.repositoryRoot.appendingPathComponent("cluster/slurm/local-cluster")

    /// Root, and Slurm's daemons and clients installed.
    static var usable: Bool {
        getuid() == 0 && ["/usr/sbin/slurmctld", "/usr/sbin/slurmd", "/usr/sbin/munged", "/usr/bin/sbatch", "/usr/bin/squeue"]
            .allSatisfy { FileManager.default.isExecutableFile(atPath: $0) }
    }

    let folder: URL
    /// The cluster's slurm.conf.
    let configuration: String

    init() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("flock-slurm-\(UUID().uuidString)")
        let outcome = try ChildProcess.run(Self.script, ["start", "--exit-with-pid", "\(getpid())", folder.path],
                                           timeout: 60, stopSignal: SIGTERM)
        guard outcome.status == 0, let path = outcome.standardOutput.split(separator: "\n").last else {
            throw SweepError(description: "local-cluster start failed (\(outcome.status)): \(outcome.output)")
        }
        configuration = String(path)
    }

    var environment: [String: String] { ["SLURM_CONF": configuration] }

    /// Stops the cluster; returns the PIDs of its processes still running (none when it tore down).
    func stop() throws -> [Int32] {
        let outcome = try ChildProcess.run(Self.script, ["stop", folder.path], timeout: 60, stopSignal: SIGTERM)
        #expect(outcome.status == 0, "\(outcome.output)")
        defer { try? FileManager.default.removeItem(at: folder) }
        return Self.processes(environmentHas: "FLOCK_LOCAL_SLURM=\(folder.path)")
    }

    /// Every job the controller knows, oldest first: (ID, name, state).
    func jobs() throws -> [(id: String, name: String, state: String)] {
        let outcome = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"),
                                           ["squeue", "--noheader", "--states=all", "--format=%i|%j|%T", "--sort=i"],
                                           timeout: 30, environment: environment)
        guard outcome.status == 0 else { throw SweepError(description: "squeue: \(outcome.output)") }
        return outcome.standardOutput.split(separator: "\n").map { line in
            let fields = line.split(separator: "|").map(String.init)
            return (fields[0], fields[1], fields[2])
        }
    }

    /// Live processes (not zombies) whose command line mentions `text`.
    static func processes(mentioning text: String) -> [Int32] {
        livePIDs().filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text)
        }
    }

    /// Live processes with `entry` (`NAME=value`) in their environment.
    static func processes(environmentHas entry: String) -> [Int32] {
        livePIDs().filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == entry }
        }
    }

    private static func livePIDs() -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard pid != getpid(), let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
            return !status.contains("State:\tZ")
        }
    }
}

/// A child process left running while a test watches the store; `kill()` ends it (SIGKILL).
final class BackgroundProcess: @unchecked Sendable {
    private let process = Process()
    private let log: URL

    init(_ executable: URL, _ arguments: [String], environment: [String: String], log: URL) throws {
        self.log = log
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ChildProcess.environment(environment)
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    func kill() {
        guard process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The exit status, or nil when it had to be killed after `seconds`.
    func wait(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(); return nil }
        process.waitUntilExit()
        return process.terminationStatus
    }

    func output() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
}
