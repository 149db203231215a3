import Foundation
import FlockTestSupport
import Testing
import FlockTensor
@testable import FlockTrain

/// The launching API: which launch, the trial command line, reading a run's results.
@Suite struct LaunchTests {
    @Test func theLaunchFollowsRanksAndMPIRun() throws {
        #expect(try RankLaunch.choose(ranks: nil, environment: [:]) == .singleProcess)
        #expect(try RankLaunch.choose(ranks: 1, environment: [:]) == .singleProcess)
        #expect(try RankLaunch.choose(ranks: 3, environment: [:]) == .localRanks(3))
        let mpirun = ["OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_SIZE": "2"]
        #expect(try RankLaunch.choose(ranks: nil, environment: mpirun) == .mpirunRank)
        #expect(RankLaunch.mpirunRank.ranksOnNode(environment: mpirun) == 2)
        #expect(RankLaunch.localRanks(3).ranksOnNode(environment: mpirun) == 3)
        #expect(throws: LaunchError.self) { try RankLaunch.choose(ranks: 2, environment: mpirun) }
        do {
            _ = try RankLaunch.choose(ranks: 0, environment: [:])
            Issue.record("--ranks 0 was accepted")
        } catch {
            #expect("\(error)" == "--ranks: expected a positive integer, got 0")
        }
    }

    @Test func aTrialProcessIsAFlockTrainCommandLine() {
        var job = TrainProcess(executable: URL(fileURLWithPath: "/opt/flock"), configPath: "base.yaml")
        job.runDirectory = "runs/t3"
        job.storePath = "s.sqlite"
        job.parentPID = 42
        job.overrides = ["optimizer.lr=0.1", "epochs=2"]
        job.resume = true
        let plain = job.invocation(base: ["PATH": "/bin"])
        #expect(plain.executable.path == "/opt/flock")
        #expect(plain.arguments == ["train", "base.yaml", "--run-dir", "runs/t3", "--store", "s.sqlite", "--exit-with-pid", "42",
                                    "--set", "optimizer.lr=0.1", "--set", "epochs=2", "--resume"])
        #expect(plain.environment == ["PATH": "/bin", "OPENBLAS_NUM_THREADS": "1"])
        // A thread count the user set is passed on unchanged.
        #expect(job.invocation(base: ["OPENBLAS_NUM_THREADS": "4"]).environment["OPENBLAS_NUM_THREADS"] == "4")

        job.mpirunRanks = 2
        let mpi = job.invocation(base: [:])
        #expect(mpi.executable.path == "/usr/bin/env")
        #expect(mpi.arguments == ["mpirun", "--oversubscribe", "--allow-run-as-root", "-np", "2", "/opt/flock"] + plain.arguments)
    }

    @Test func runResultsReadSummaryAndCompleteMetricLines() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        _ = try folder.write("metrics.jsonl", """
            {"epoch":1,"loss":0.9,"lr":0.1,"seconds":1.5,"samples_per_second":100,"val_loss":1.25}
            {"epoch":2,"loss":0.5,"lr":0.1,"seconds":1.5,"samples_per_second":100,"val_loss":0.75}
            {"epoch":3,"loss":0.
            """)
        let results = RunResults(directory: folder.url)
        let epochs = results.epochs()
        #expect(epochs.map(\.epoch) == [1, 2])
        #expect(epochs.map { $0.values["val_loss"] } == [1.25, 0.75])
        #expect(throws: RunResultsError.self) { try results.summary() }

        _ = try folder.write("summary.json", """
            {"epochs_run": 2, "best": {"val_loss": 0.75}, "final": {"val_loss": 0.8}, "stopped_early": false,
             "world_size": 1, "samples_per_second": 100}
            """)
        #expect(try results.objective("val_loss", bestEpoch: true) == 0.75)
        #expect(try results.objective("val_loss", bestEpoch: false) == 0.8)
        #expect(try results.summary().blas == nil)
        do {
            _ = try results.objective("val_accuracy", bestEpoch: true)
            Issue.record("a missing metric was read")
        } catch {
            #expect("\(error)" == "\(folder.url.path)/summary.json: no val_accuracy in the run's summary")
        }
    }

    @Test func oneRankUsesEveryCoreAndLocalRanksShareThem() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try folder.write("small.yaml", """
            seed: 5
            epochs: 1
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 48}
            model: [{type: dense, units: 16, activation: tanh}, {type: dense, units: 10}]
            """)
        let cores = ProcessInfo.processInfo.activeProcessorCount
        for (ranks, expected) in [(1, cores), (2, max(1, cores / 2))] {
            let run = folder.url.appendingPathComponent("run-\(ranks)")
            // No OPENBLAS_NUM_THREADS: Flock chooses.
            let outcome = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"),
                                               ["-u", "OPENBLAS_NUM_THREADS", ChildProcess.flockExecutable.path, "train", config.path,
                                                "--ranks", "\(ranks)", "--run-dir", run.path])
            #expect(outcome.status == 0, "\(outcome.output)")
            #expect(try RunResults(directory: run).summary().blas?.threads == expected, "ranks \(ranks)")
        }
        // A count the user set wins.
        let run = folder.url.appendingPathComponent("run-user")
        let outcome = try ChildProcess.flock(["train", config.path, "--run-dir", run.path], environment: ["OPENBLAS_NUM_THREADS": "1"])
        #expect(outcome.status == 0, "\(outcome.output)")
        #expect(try RunResults(directory: run).summary().blas?.threads == 1)
    }
}

/// `flock doctor --json` as a script reads it.
@Suite struct DoctorCommandTests {
    @Test func doctorReportsEveryPart() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let outcome = try ChildProcess.flock(["doctor", "--json"], timeout: 180, environment: ["XDG_CACHE_HOME": folder.url.path])
        #expect(outcome.status == 0, "\(outcome.output)")
        let object = try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as! [String: Any]
        #expect(Set(object.keys) == ["cpu", "blas", "mpi", "sqlite", "precision", "problems"])
        let cpu = object["cpu"] as! [String: Any]
        #expect((cpu["model"] as? String)?.isEmpty == false)
        #expect((cpu["features"] as? [String])?.contains("sse2") == true)
        #expect(cpu["vector_level"] is String && cpu["cores"] as? Int == ProcessInfo.processInfo.activeProcessorCount)
        let blas = object["blas"] as! [String: Any]
        #expect((blas["config"] as? String)?.hasPrefix("OpenBLAS ") == true)
        let choice = blas["choice"] as! [String: Any]
        if let user = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] {
            #expect(choice["core"] as? String == user && choice["chosen_by"] as? String == "user", "\(choice)")
        } else {
            #expect(choice["core"] is String && choice["chosen_by"] is String)
        }
        #expect(choice["threads"] as? Int == 1)
        let mpi = object["mpi"] as! [String: Any]
        #expect((mpi["library"] as? String)?.contains("MPI") == true)
        #expect(mpi["mpirun_works"] as? Bool == true, "\(mpi)")
        #expect((object["sqlite"] as? String)?.split(separator: ".").count == 3)
        #expect(object["problems"] is [Any])
        let precision = object["precision"] as! [String: Any]
        #expect((precision["library"] as? String)?.hasPrefix("oneDNN ") == true && precision["isa"] is String)
        #expect(precision["configured"] as? String == "auto")
        #expect(precision["used"] as? String == (OneDNN.hasNativeBF16 ? "bf16" : "float32"), "\(precision)")
    }

    @Test func aCoreBelowTheCPUIsAProblemWithAFix() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let cpu = try folder.write("cpuinfo", StandInCPU.avx2)
        let outcome = try ChildProcess.flock(["doctor", "--json"], timeout: 180, environment: [
            "OPENBLAS_CORETYPE": "Prescott", "FLOCK_CPUINFO": cpu.path, "XDG_CACHE_HOME": folder.url.path])
        #expect(outcome.status == 0, "\(outcome.output)")
        let report = try JSONDecoder().decode(DoctorReport.self, from: Data(outcome.standardOutput.utf8))
        #expect(report.blas.choice.core == "Prescott" && report.blas.choice.chosenBy == .user)
        #expect(report.problems.contains { $0.problem == "OPENBLAS_CORETYPE=Prescott uses SSE kernels but the CPU has AVX2" && $0.fix.hasPrefix("unset OPENBLAS_CORETYPE") },
                "\(report.problems)")
    }
}
