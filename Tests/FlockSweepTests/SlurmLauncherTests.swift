import FlockTestSupport
import FlockTrain
import Foundation
import Testing
@testable import FlockSweep

/// `launcher: slurm` without a cluster: the sweep file's `slurm:` fields, the batch script
/// and sbatch options of a trial, job names, and the error when Slurm is not installed.
/// (`SlurmSweepTests` runs sweeps through a real local Slurm.)
@Suite struct SlurmLauncherTests {
    func parse(_ extra: String) throws -> SweepConfig {
        try SweepConfig.parse("""
            study: s
            base_config: {data: {source: \(ChildProcess.digitsCSV), label_column: label}, model: [{type: dense, units: 10}]}
            space:
              - {name: optimizer.lr, type: float, low: 0.001, high: 0.1}
            budget: {trials: 3}
            \(extra)
            """, baseDirectory: "/")
    }

    func message(_ extra: String) -> String {
        do { _ = try parse(extra); return "no error" } catch { return "\(error)" }
    }

    @Test func slurmFieldsAreReadAndCheckedWithTheirPaths() throws {
        let sweep = try parse("""
            launcher: slurm
            ranks_per_trial: 2
            slurm: {partition: cpu, time_limit: "1-02:00:00", cpus_per_task: 4, extra_args: ["--account=ml", "--qos", "debug"], poll_seconds: 0.5}
            """)
        #expect(sweep.launcher == .slurm && sweep.ranksPerTrial == 2)
        #expect(sweep.slurm.partition == "cpu" && sweep.slurm.timeLimit == "1-02:00:00" && sweep.slurm.cpusPerTask == 4)
        #expect(sweep.slurm.extraArguments == ["--account=ml", "--qos", "debug"] && sweep.slurm.pollSeconds == 0.5)
        // YAML reads an unquoted 30 as a number: Slurm's minutes.
        #expect(try parse("launcher: slurm\nslurm: {time_limit: 30}").slurm.timeLimit == "30")
        #expect(try parse("launcher: slurm").slurm == SlurmOptions())

        #expect(message("launcher: mpirun\nslurm: {partition: cpu}") == "slurm: only used with launcher: slurm (launcher is mpirun)")
        #expect(message("launcher: slurm\nslurm: {partitions: cpu}").hasPrefix("slurm.partitions: unknown field"))
        #expect(message("launcher: slurm\nslurm: {partition: \"a b\"}") == "slurm.partition: expected a partition name, got 'a b'")
        #expect(message("launcher: slurm\nslurm: {time_limit: 1h}").hasPrefix("slurm.time_limit: expected a Slurm time such as 30"))
        #expect(message("launcher: slurm\nslurm: {time_limit: \"1:2:3:4\"}").hasPrefix("slurm.time_limit: expected"))
        #expect(message("launcher: slurm\nslurm: {cpus_per_task: 0}") == "slurm.cpus_per_task: expected an integer in 1...4096, got 0")
        #expect(message("launcher: slurm\nslurm: {poll_seconds: 0}").hasPrefix("slurm.poll_seconds: expected a number in (0, 3600"))
        #expect(message("launcher: slurm\nslurm: {extra_args: --qos}") == "slurm.extra_args: expected a list of strings")
        #expect(message("launcher: slurm\nslurm: {extra_args: [\"--qos=a\", \"--job-name=x\"]}")
                == "slurm.extra_args[1]: --job-name is set by flock sweep itself")
        #expect(message("launcher: slurm\nslurm: {extra_args: [\"-t5\"]}") == "slurm.extra_args[0]: --time is set by flock sweep itself (use slurm.time_limit)")
        #expect(message("launcher: subprocess\nranks_per_trial: 2") == "ranks_per_trial: more than one rank per trial needs launcher: mpirun or slurm")
    }

    @Test func slurmTimeForms() {
        for good in ["30", "30:00", "1:00:00", "2-12", "2-12:30", "2-12:30:00", "UNLIMITED"] { #expect(SlurmOptions.isTimeLimit(good), "\(good)") }
        for bad in ["", "1h", "1:2:3:4", "2-", "-5", "1-2-3", "1::2", "١٢"] { #expect(!SlurmOptions.isTimeLimit(bad), "\(bad)") }
    }

    /// A trial's job for `ranks` ranks, with paths that need quoting.
    func batchJob(ranks: Int, folder: URL, executable: URL) -> SlurmBatchJob {
        var train = TrainProcess(executable: executable, configPath: folder.appendingPathComponent("it's base.yaml").path)
        train.runDirectory = folder.appendingPathComponent("trials/0003").path
        train.storePath = folder.appendingPathComponent("flock $HOME.sqlite").path
        train.overrides = ["optimizer.lr=0.01", "model[0].activation=relu"]
        train.resume = true
        var options = SlurmOptions()
        options.partition = "cpu"
        options.timeLimit = "10:00"
        options.cpusPerTask = 2
        options.extraArguments = ["--qos", "debug"]
        return SlurmBatchJob(train: train, ranks: ranks, options: options, name: "flock.s.3.0.cafe0123",
                             outputPath: folder.appendingPathComponent("trials/0003.out").path,
                             workingDirectory: folder.path, asRoot: true)
    }

    /// Runs a job's batch script with bash, as slurmd would, and returns the words its
    /// command received (the executable prints one argument per line).
    @Test func theBatchScriptRunsTheTrialsFlockTrainWithEveryArgumentIntact() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let printer = try folder.write("print-arguments", "#!/bin/sh\nprintf '%s\\n' \"$PWD\" \"$OPENBLAS_NUM_THREADS\" \"$@\"\n")
        chmod(printer.path, 0o755)
        let job = batchJob(ranks: 1, folder: folder.url, executable: printer)
        let script = try folder.write("job.sbatch", job.script())
        let outcome = try ChildProcess.run(URL(fileURLWithPath: "/bin/bash"), [script.path], timeout: 30,
                                           environment: ["SLURM_CPUS_PER_TASK": "2"])
        #expect(outcome.status == 0, "\(outcome.output)")
        let base = folder.url.path
        #expect(outcome.standardOutput.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init) == [
            base, "2", "train", "\(base)/it's base.yaml", "--run-dir", "\(base)/trials/0003", "--store", "\(base)/flock $HOME.sqlite",
            "--set", "optimizer.lr=0.01", "--set", "model[0].activation=relu", "--resume",
        ])
        // Several ranks: mpirun starts them inside the allocation.
        let parallel = batchJob(ranks: 2, folder: folder.url, executable: printer).script()
        #expect(parallel.contains("exec 'mpirun' '--allow-run-as-root' '-np' '2' '--bind-to' 'none' '-x' 'OPENBLAS_NUM_THREADS' '\(printer.path)' 'train'"))
    }

    @Test func sbatchOptionsNameTrackAndNeverRequeueTheJob() {
        let job = batchJob(ranks: 2, folder: URL(fileURLWithPath: "/tmp/x"), executable: URL(fileURLWithPath: "/bin/flock"))
        #expect(job.sbatchOptions() == ["--job-name=flock.s.3.0.cafe0123", "--output=/tmp/x/trials/0003.out", "--open-mode=append",
                                        "--no-requeue", "--ntasks=2", "--cpus-per-task=2", "--partition=cpu", "--time=10:00",
                                        "--qos", "debug"])
    }

    @Test func jobNamesDifferByStoreTrialAndAttemptOnly() {
        let name = SlurmBatchJob.name(storePath: "/runs/a/flock.sqlite", study: "digits", number: 3, attempt: 0)
        #expect(name.hasPrefix("flock.digits.3.0.") && name.count == "flock.digits.3.0.".count + 8)
        #expect(name == SlurmBatchJob.name(storePath: "/runs/a/../a/flock.sqlite", study: "digits", number: 3, attempt: 0))
        #expect(name != SlurmBatchJob.name(storePath: "/runs/b/flock.sqlite", study: "digits", number: 3, attempt: 0))
        #expect(name != SlurmBatchJob.name(storePath: "/runs/a/flock.sqlite", study: "digits", number: 3, attempt: 1))
        #expect(SlurmBatchJob.name(storePath: "/s", study: "my study,x", number: 0, attempt: 0).hasPrefix("flock.my_study_x.0.0."))
    }

    @Test func slurmStatesSortIntoActiveCompletedAndEnded() {
        #expect(SlurmJobState(slurmName: "PENDING") == .active("PENDING"))
        #expect(SlurmJobState(slurmName: "COMPLETING") == .active("COMPLETING"))
        #expect(SlurmJobState(slurmName: "COMPLETED") == .completed)
        #expect(SlurmJobState(slurmName: "CANCELLED by 0") == .ended("CANCELLED"))
        #expect(SlurmJobState(slurmName: "NODE_FAIL") == .ended("NODE_FAIL"))
    }

    @Test func withoutSlurmsCommandsTheErrorNamesTheLauncher() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        #expect(throws: SweepError.self) { try SlurmCommands.locate(path: folder.url.path) }
        do { _ = try SlurmCommands.locate(path: folder.url.path) } catch {
            #expect("\(error)".hasPrefix("launcher: slurm needs Slurm's client commands on PATH, but sbatch, squeue, scancel are not there"))
        }
        // Through the command: refused before any trial starts, nothing submitted.
        let sweep = try folder.write("sweep.yaml", """
            study: s
            base_config: {data: {source: \(ChildProcess.digitsCSV), label_column: label}, model: [{type: dense, units: 10}]}
            space:
              - {name: optimizer.lr, type: float, low: 0.001, high: 0.1}
            budget: {trials: 1}
            launcher: slurm
            """)
        let outcome = try ChildProcess.flock(["sweep", sweep.path, "--dir", folder.url.appendingPathComponent("study").path],
                                             timeout: 60, environment: ["PATH": folder.url.path])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("launcher: slurm needs Slurm's client commands on PATH"), "\(outcome.output)")
    }
}
