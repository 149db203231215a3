import Foundation
import FlockStore
import FlockTestSupport
import Testing
@testable import FlockTrain

/// `flock train CONFIG --np N`: a supervisor that starts its own `mpirun` job and heals it.
/// Every job is a child process under a timeout; a real rank process dies by SIGKILL at a
/// known step (`FLOCK_FAULT_KILL=R:S`, first launch only).
@Suite(.serialized) struct SupervisedJobTests {
    /// No dropout: a resume at another width is then the same computation wherever it runs.
    /// 1,437 training samples in global batches of 32: 45 steps an epoch, a disk checkpoint
    /// every 10 (and by default a memory snapshot every 10, never newer than disk's).
    func writeConfig(_ folder: TemporaryFolder, epochs: Int = 2, elastic: String = "{snapshot_every_steps: 10}",
                     diskEvery: Int = 10, source: String = DataParallelTests.digits) throws -> URL {
        try folder.write("job.yaml", """
            seed: 5
            epochs: \(epochs)
            data: {source: \(source), label_column: label, batch_size: 32}
            model:
              - {type: dense, units: 32, activation: tanh}
              - {type: dense, units: 10}
            optimizer: {name: adam, lr: 0.003}
            callbacks: {model_checkpoint: {every_n_steps: \(diskEvery)}}
            elastic: \(elastic)
            """)
    }

    static let killRank3AtStep25 = ["FLOCK_FAULT_KILL": "3:25"]

    func summary(_ run: URL) throws -> TrainingSummary {
        try FlockJSON.decoder.decode(TrainingSummary.self, from: Data(contentsOf: run.appendingPathComponent("summary.json")))
    }

    /// Rank 3 of 4 dies at step 25: the supervisor relaunches on 2 ranks (32 samples do not
    /// split over 3) from the step-20 checkpoint, and the job ends with the model of a
    /// plain width-2 `--resume` from the same checkpoint, bit for bit.
    @Test func aKilledRankIsRelaunchedOnFewerRanksAsAResumeAtThatWidth() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder).path
        let supervised = folder.url.appendingPathComponent("supervised")
        let outcome = try ChildProcess.flock(["train", config, "--np", "4", "--run-dir", supervised.path],
                                             timeout: 240, environment: Self.killRank3AtStep25)
        #expect(!outcome.timedOut && outcome.status == 0, "\(outcome.output)")
        #expect(outcome.standardOutput.contains("supervisor: rank 3 on"), "\(outcome.standardOutput)")
        let restarts = try summary(supervised).restarts ?? []
        #expect(restarts.count == 1)
        if let restart = restarts.first {
            #expect(restart.cause.contains("rank 3") && restart.cause.contains("signal 9"), "\(restart.cause)")
            #expect(restart.ranksBefore == 4 && restart.ranksAfter == 2)
            #expect(restart.stepsLost == 5)
            #expect(restart.seconds > 0)
        }
        let stored = try ExperimentStore(path: folder.url.appendingPathComponent("flock.sqlite").path)
        let records = try stored.restarts(runID: supervised.standardizedFileURL.path)
        #expect(records.map(\.number) == [1] && records.first?.ranksAfter == 2)
        #expect(try stored.run(id: supervised.standardizedFileURL.path)?.status == .completed)
        #expect(!FileManager.default.fileExists(atPath: supervised.path + ".supervisor"))

        // The same job by hand: killed at the same step without a supervisor, resumed at width 2.
        let manual = folder.url.appendingPathComponent("manual")
        let flock = ChildProcess.flockExecutable.path
        let killed = try ChildProcess.mpirun(["-np", "4", flock, "train", config, "--run-dir", manual.path],
                                             timeout: 180, environment: Self.killRank3AtStep25)
        #expect(!killed.timedOut && killed.status != 0)
        let resumed = try ChildProcess.mpirun(["-np", "2", flock, "train", config, "--run-dir", manual.path, "--resume"], timeout: 180)
        #expect(!resumed.timedOut && resumed.status == 0, "\(resumed.output)")
        let model = "model.safetensors"
        #expect(try Data(contentsOf: supervised.appendingPathComponent(model)) == Data(contentsOf: manual.appendingPathComponent(model)))
    }

    /// A data error fails on every launch: the supervisor says so once and does not relaunch.
    @Test func anErrorOfTheJobItselfIsNotRestarted() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = try folder.write("bad.csv", "p0,p1,label\n1,2,0\n1,x,1\n3,4,0\n")
        let config = try writeConfig(folder, source: data.path).path
        let run = folder.url.appendingPathComponent("run")
        let outcome = try ChildProcess.flock(["train", config, "--np", "2", "--max-restarts", "3", "--run-dir", run.path], timeout: 120)
        #expect(!outcome.timedOut && outcome.status == 1, "\(outcome.output)")
        #expect(outcome.standardError.contains("bad.csv:3: column p1: 'x' is not a number (an error of the job itself, not a lost rank: not restarted)"),
                "\(outcome.standardError)")
        #expect(!outcome.standardOutput.contains("restart 1"))
    }

    /// No restarts left, or too few ranks: a clear error, exit 1, the run failed in the
    /// store, and its last checkpoint loadable.
    @Test func exhaustedRestartsOrTooFewRanksEndWithTheCheckpointIntact() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let cases: [(arguments: [String], elastic: String, message: String)] = [
            (["--max-restarts", "0"], "{snapshot_every_steps: 10}", "gave up after 0 restarts"),
            ([], "{snapshot_every_steps: 10, min_ranks: 3}", "no width from elastic.min_ranks 3 to the 3 slots left splits the global batch of 32"),
        ]
        for (index, item) in cases.enumerated() {
            let config = try writeConfig(folder, elastic: item.elastic).path
            let run = folder.url.appendingPathComponent("run-\(index)")
            let outcome = try ChildProcess.flock(["train", config, "--np", "4", "--run-dir", run.path] + item.arguments,
                                                 timeout: 180, environment: Self.killRank3AtStep25)
            #expect(!outcome.timedOut && outcome.status == 1, "\(outcome.output)")
            #expect(outcome.standardError.contains("rank 3 on"), "\(outcome.standardError)")
            #expect(outcome.standardError.contains(item.message), "\(outcome.standardError)")
            #expect(outcome.standardError.contains("the last checkpoint is in \(run.path)/checkpoints/last"))
            let checkpoint = try Checkpoint.load(run.appendingPathComponent("checkpoints/last"))
            #expect(checkpoint.state.step == 20)
            let store = try ExperimentStore(path: folder.url.appendingPathComponent("flock.sqlite").path)
            #expect(try store.run(id: run.standardizedFileURL.path)?.status == .failed)
        }
    }

    /// SIGTERM to the supervisor while its ranks train: it exits 143 and no process of the
    /// job is left.
    @Test func sigtermToTheSupervisorEndsTheWholeJob() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder, epochs: 500).path
        let run = folder.url.appendingPathComponent("run")
        let process = Process()
        process.executableURL = ChildProcess.flockExecutable
        process.arguments = ["train", config, "--np", "3", "--set", "data.batch_size=48", "--run-dir", run.path]
        process.environment = ChildProcess.environment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let progress = SupervisorChannel(folder: URL(fileURLWithPath: run.path + ".supervisor"))
        let started = Date()
        while (progress.progress() ?? 0) < 3 && process.isRunning && Date().timeIntervalSince(started) < 120 { usleep(50_000) }
        #expect((progress.progress() ?? 0) >= 3, "the job did not start training")
        #expect(Self.processes(mentioning: run.path).count == 6, "the supervisor, mpirun, three ranks and the snapshot keeper run")
        kill(process.processIdentifier, SIGTERM)
        let stopping = Date()
        while process.isRunning && Date().timeIntervalSince(stopping) < 30 { usleep(20_000) }
        #expect(!process.isRunning)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 143)
        #expect(Self.processes(mentioning: run.path).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: run.path + ".supervisor"))
    }

    /// Live processes other than this one whose command line contains `text`.
    static func processes(mentioning text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard pid != getpid(), ProcessTree.isAlive(pid),
                  let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data, as: UTF8.self).contains(text)
        }
    }

    @Test func aRelaunchKeepsWholeGroupsAndSplitsTheGlobalBatch() {
        #expect(ElasticWidth.choose(slots: 3, requested: 4, minimum: 1, batchSize: 32, modelParallel: 1) == 2)
        #expect(ElasticWidth.choose(slots: 3, requested: 4, minimum: 1, batchSize: 48, modelParallel: 1) == 3)
        #expect(ElasticWidth.choose(slots: 7, requested: 8, minimum: 2, batchSize: 48, modelParallel: 2) == 6)
        #expect(ElasticWidth.choose(slots: 9, requested: 4, minimum: 1, batchSize: 32, modelParallel: 1) == 4)
        #expect(ElasticWidth.choose(slots: 1, requested: 4, minimum: 2, batchSize: 32, modelParallel: 1) == nil)
        #expect(ElasticWidth.choose(slots: 3, requested: 4, minimum: 3, batchSize: 32, modelParallel: 1) == nil)
    }

    @Test func elasticFieldsAndHostfilesAreChecked() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        for (field, value) in [("min_ranks", "0"), ("max_restarts", "-1"), ("snapshot_every_steps", "0"), ("host_wait_seconds", "-1")] {
            let config = try writeConfig(folder, elastic: "{\(field): \(value)}")
            #expect(throws: (any Error).self) { try ConfigLoader.load(path: config.path) }
            do { _ = try ConfigLoader.load(path: config.path) } catch {
                #expect("\(error)".contains("elastic.\(field)"), "\(error)")
            }
        }
        let hosts = try folder.write("hosts", "# two machines\nnode1 slots=4\nnode2   # one slot\n")
        #expect(try SlotProbe.hosts(inHostfile: hosts.path) == [.init(name: "node1", slots: 4), .init(name: "node2", slots: 1)])
        let bad = try folder.write("bad-hosts", "node1 slots=x\n")
        #expect(throws: LaunchError.self) { try SlotProbe.hosts(inHostfile: bad.path) }
    }
}
