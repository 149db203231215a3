import Foundation
import FlockStore
import FlockTestSupport
import Testing
@testable import FlockTrain

/// In-memory snapshots: a supervised job's ranks send their checkpoint files every
/// `elastic.snapshot_every_steps` to a keeper process the supervisor started, and a
/// relaunch resumes from the newest one the keepers hold when it is newer than disk's.
extension SupervisedJobTests {
    /// Rank 3 of 4 dies at step 27: the keeper holds the step-25 snapshot, newer than the
    /// step-20 disk checkpoint, so the job goes on from it on 2 ranks (2 steps lost, source
    /// memory) and ends with the model of a plain width-2 `--resume` from that snapshot.
    @Test func aKilledRankResumesFromTheNewerMemorySnapshot() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder, elastic: "{snapshot_every_steps: 5}", diskEvery: 20).path
        let supervised = folder.url.appendingPathComponent("supervised")
        let outcome = try ChildProcess.flock(["train", config, "--np", "4", "--run-dir", supervised.path],
                                             timeout: 240, environment: ["FLOCK_FAULT_KILL": "3:27"])
        #expect(!outcome.timedOut && outcome.status == 0, "\(outcome.output)")
        #expect(outcome.standardOutput.contains("on 2 ranks from the memory snapshot of step 25 (held by the keepers on"),
                "\(outcome.standardOutput)")
        let restarts = try summary(supervised).restarts ?? []
        #expect(restarts.count == 1 && restarts.first?.source == .memory, "\(restarts)")
        #expect(restarts.first?.stepsLost == 2 && restarts.first?.ranksAfter == 2, "\(restarts)")
        let stored = try ExperimentStore(path: folder.url.appendingPathComponent("flock.sqlite").path)
        #expect(try stored.restarts(runID: supervised.standardizedFileURL.path).map(\.source) == ["memory"])
        #expect(Self.processes(mentioning: supervised.path).isEmpty, "no keeper is left")

        // The snapshot, written out as a checkpoint folder, resumed by hand at width 2.
        let snapshot = "snapshot-step-00000025"
        let manual = folder.url.appendingPathComponent("manual/checkpoints")
        try FileManager.default.createDirectory(at: manual, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: supervised.appendingPathComponent("checkpoints/\(snapshot)"),
                                         to: manual.appendingPathComponent(snapshot))
        try FileManager.default.createSymbolicLink(atPath: manual.appendingPathComponent("last").path, withDestinationPath: snapshot)
        #expect(try Checkpoint.load(manual.appendingPathComponent("last")).state.step == 25)
        let run = manual.deletingLastPathComponent()
        let resumed = try ChildProcess.mpirun(["-np", "2", ChildProcess.flockExecutable.path, "train", config, "--run-dir", run.path, "--resume"],
                                              timeout: 180)
        #expect(!resumed.timedOut && resumed.status == 0, "\(resumed.output)")
        let model = "model.safetensors"
        #expect(try Data(contentsOf: supervised.appendingPathComponent(model)) == Data(contentsOf: run.appendingPathComponent(model)))
    }

    /// The keeper is killed while the job trains, then rank 3 dies at step 397: no snapshot
    /// is held, so the job goes on from the step-380 disk checkpoint and says so.
    @Test func withTheKeeperGoneTheJobFallsBackToDiskAndSaysSo() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder, epochs: 10, elastic: "{snapshot_every_steps: 5}", diskEvery: 20).path
        let run = folder.url.appendingPathComponent("run")
        let log = folder.url.appendingPathComponent("supervisor.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let output = try FileHandle(forWritingTo: log)
        let process = Process()
        process.executableURL = ChildProcess.flockExecutable
        process.arguments = ["train", config, "--np", "4", "--run-dir", run.path]
        process.environment = ChildProcess.environment().merging(["FLOCK_FAULT_KILL": "3:397"]) { $1 }
        process.standardOutput = output
        process.standardError = output
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let channel = SupervisorChannel(folder: URL(fileURLWithPath: run.path + ".supervisor"))
        let started = Date()
        while (channel.progress() ?? 0) < 30 && process.isRunning && Date().timeIntervalSince(started) < 120 { usleep(20_000) }
        let keepers = Self.processes(mentioning: "_keeper").filter { Self.commandLine($0).contains(run.path) }
        #expect(keepers.count == 1 && (channel.progress() ?? 0) < 390, "one keeper, killed well before step 397")
        for pid in keepers { kill(pid, SIGKILL) }
        while process.isRunning && Date().timeIntervalSince(started) < 240 { usleep(50_000) }
        #expect(!process.isRunning)
        process.waitUntilExit()
        let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("from the disk checkpoint of step 380: no complete memory snapshot newer is held"), "\(text)")
        let restarts = try summary(run).restarts ?? []
        #expect(restarts.count == 1 && restarts.first?.source == .disk && restarts.first?.stepsLost == 17, "\(restarts)")
        #expect(Self.processes(mentioning: run.path).isEmpty, "no keeper is left")
    }

    /// `cluster/launch --max-restarts K` supervises the job (a `localhost` hostfile, the
    /// keeper started through its own `mpirun --host localhost`): rank 1 of 2 dies at step
    /// 27 and the job goes on from the keeper's step-25 snapshot and completes.
    @Test func clusterLaunchWithMaxRestartsSupervisesTheJob() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder, elastic: "{snapshot_every_steps: 5}", diskEvery: 20).path
        let hostfile = try folder.write("hosts", "localhost slots=2\n")
        let run = folder.url.appendingPathComponent("run")
        let outcome = try ChildProcess.run(ChildProcess.repositoryRoot.appendingPathComponent("cluster/launch"),
                                           ["--hostfile", hostfile.path, "--network", "lo", "--max-restarts", "2", "--",
                                            ChildProcess.flockExecutable.path, "train", config, "--run-dir", run.path],
                                           timeout: 240, environment: ["FLOCK_FAULT_KILL": "1:27"], stopSignal: SIGTERM)
        #expect(!outcome.timedOut && outcome.status == 0, "\(outcome.output)")
        #expect(outcome.standardOutput.contains("restart 1 of 2 on 2 ranks from the memory snapshot of step 25"), "\(outcome.standardOutput)")
        #expect(try summary(run).restarts?.map(\.source) == [.memory])
        #expect(Self.processes(mentioning: run.path).isEmpty, "no keeper is left")
    }

    static func commandLine(_ pid: Int32) -> String {
        String(decoding: FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data(), as: UTF8.self)
    }
}
