import FlockTestSupport
import Foundation
import Testing
@testable import FlockTracking

/// `callbacks.mlflow` against a real `mlflow server`, read back with MLflow's own client.
/// One server serves the whole story (it takes up to a minute to start on a loaded
/// machine): a run, its resume, a sweep's parent and child runs, and last a run during
/// which the server is killed.
@Suite(.serialized) struct MLflowTrackingTests {
    /// The run `run_id` as MLflow's client reads it: params, tags, status, each metric's
    /// history as [step, value], the artifacts listed at the top and under model/, and
    /// the SHA-256 of model/model.safetensors downloaded from the server, and the logged
    /// model as `mlflow.models.get_model_info` reads its MLmodel file.
    static let readRun = """
        import hashlib, json, os, sys, tempfile
        from mlflow.tracking import MlflowClient
        client = MlflowClient(tracking_uri=sys.argv[1])
        run = client.get_run(sys.argv[2])
        rid = run.info.run_id
        metrics = {k: sorted([m.step, m.value] for m in client.get_metric_history(rid, k)) for k in run.data.metrics}
        artifacts = [a.path for a in client.list_artifacts(rid)] + [a.path for a in client.list_artifacts(rid, "model")]
        digest, model = None, None
        if "model/MLmodel" in artifacts:
            import mlflow
            mlflow.set_tracking_uri(sys.argv[1])
            info = mlflow.models.get_model_info(f"runs:/{rid}/model")
            model = {"flavors": info.flavors, "run_id": info.run_id}
        if "model/model.safetensors" in artifacts:
            path = client.download_artifacts(rid, "model/model.safetensors", tempfile.mkdtemp())
            digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        runs = client.search_runs([run.info.experiment_id])
        print(json.dumps({"params": run.data.params, "tags": run.data.tags, "status": run.info.status, "metrics": metrics,
                          "artifacts": artifacts, "model_sha256": digest, "model": model, "runs_in_experiment": len(runs),
                          "experiment": client.get_experiment(run.info.experiment_id).name}))
        """

    /// Every run of the experiment: id, parent (tag), params, status, metric histories.
    static let readExperiment = """
        import json, sys
        from mlflow.tracking import MlflowClient
        client = MlflowClient(tracking_uri=sys.argv[1])
        experiment = client.get_experiment_by_name(sys.argv[2])
        out = []
        for run in client.search_runs([experiment.experiment_id]):
            rid = run.info.run_id
            out.append({"id": rid, "parent": run.data.tags.get("mlflow.parentRunId"), "tags": run.data.tags,
                        "params": run.data.params, "status": run.info.status,
                        "metrics": {k: sorted([m.step, m.value] for m in client.get_metric_history(rid, k)) for k in run.data.metrics}})
        print(json.dumps(out))
        """

    @Test(.enabled(if: ToolchainPython.shared.canReachPyPI, "skipped: pip cannot reach PyPI to install mlflow"),
          .hangLimit)
    func anMLflowServerTracksARunItsResumeAndASweepAndItsDeathStopsNoTraining() throws {
        let python = ToolchainPython.shared
        _ = try python.interpreter()
        let server = try MLflowServer(python: python)
        defer { server.kill() }
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        try aRunIsLoggedAndResumedIntoTheSameRun(python, server, folder)
        try aSweepsTrialsAreChildRunsOfOneParent(python, server, folder)
        try aServerKilledMidRunStopsNothing(python, server, folder)
    }

    private func aRunIsLoggedAndResumedIntoTheSameRun(_ python: ToolchainPython, _ server: MLflowServer, _ folder: TemporaryFolder) throws {
        // The server comes from MLFLOW_TRACKING_URI: the config names only the experiment.
        let config = try folder.write("tracked.yaml", ToolchainFixtures.config(name: "tracked", """
            epochs: 2
            callbacks: {mlflow: {experiment: flock-tests}}
            """))
        let run = folder.url.appendingPathComponent("tracked")
        let environment = ["MLFLOW_TRACKING_URI": server.url.absoluteString]
        let trained = try ChildProcess.flock(["train", config.path, "--run-dir", run.path], timeout: 300, environment: environment)
        try #require(trained.status == 0, "\(trained.output)")
        let runID = try #require(MLflowRunFile.read(in: run)).runID
        let logged = try python.json(Self.readRun, [server.url.absoluteString, runID]) as! [String: Any]
        #expect(logged["experiment"] as? String == "flock-tests")
        #expect(logged["status"] as? String == "FINISHED")
        let params = logged["params"] as! [String: String]
        #expect(params["optimizer.lr"] == "0.05")
        #expect(params["epochs"] == "2")
        #expect(params["model.0.units"] == "16", "\(params.keys.sorted())")
        let tags = logged["tags"] as! [String: String]
        #expect(tags["flock.world_size"] == "1")
        #expect(tags["flock.layout"]?.hasPrefix("data 1") == true)
        // flock ran in the repository root, a git checkout.
        let head = try ChildProcess.run(URL(fileURLWithPath: "/usr/bin/env"), ["git", "rev-parse", "HEAD"], timeout: 30)
        #expect(tags["mlflow.source.git.commit"] == head.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))
        try expectMetrics(logged, equal: run, epochs: 2)
        let artifacts = Set(logged["artifacts"] as! [String])
        for expected in ["model/MLmodel", "model/model.safetensors", "model/model.onnx", "model/config.yaml", "model/preprocessing.json",
                         "summary.json", "metrics.jsonl", "report.html"] {
            #expect(artifacts.contains(expected), "\(expected) not in \(artifacts.sorted())")
        }
        let local = try python.json("import hashlib, json, sys; print(json.dumps(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest()))",
                                    [run.appendingPathComponent("model.safetensors").path]) as! String
        #expect(logged["model_sha256"] as? String == local)
        // MLflow reads the MLmodel file: Flock's flavor naming the model's files, this run's id.
        let model = try #require(logged["model"] as? [String: Any], "\(logged)")
        #expect(model["run_id"] as? String == runID)
        let flavor = try #require((model["flavors"] as? [String: Any])?["flock"] as? [String: Any], "\(model)")
        #expect(flavor["data"] as? String == "model.safetensors" && flavor["preprocessing"] as? String == "preprocessing.json")
        // The ONNX flavour: the run's model exported with its preprocessing (see "ONNX export").
        let onnx = try #require((model["flavors"] as? [String: Any])?["onnx"] as? [String: Any], "\(model)")
        #expect(onnx["data"] as? String == "model.onnx")
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("model.onnx").path))

        // Resumed with more epochs: the same MLflow run goes on to epoch 4.
        let resumed = try ChildProcess.flock(["train", config.path, "--run-dir", run.path, "--resume", "--set", "epochs=4"],
                                             timeout: 300, environment: environment)
        try #require(resumed.status == 0, "\(resumed.output)")
        #expect(MLflowRunFile.read(in: run)?.runID == runID)
        let continued = try python.json(Self.readRun, [server.url.absoluteString, runID]) as! [String: Any]
        #expect(continued["runs_in_experiment"] as? Int == 1)
        #expect(continued["status"] as? String == "FINISHED")
        try expectMetrics(continued, equal: run, epochs: 4)
    }

    /// Every metric of every line of `metrics.jsonl` (but `epoch`) is in MLflow at step =
    /// epoch, once, with the same value. `allowingRepeats`: the same point twice is one (a
    /// request the server stored as it was killed, so its answer never came, is sent again).
    private func expectMetrics(_ logged: [String: Any], equal run: URL, epochs: Int, allowingRepeats: Bool = false) throws {
        let lines = try ToolchainFixtures.metricsLines(run)
        try #require(lines.count == epochs)
        let metrics = logged["metrics"] as! [String: [[Double]]]
        let keys = Set(lines[0].keys).subtracting(["epoch"])
        #expect(keys.isSubset(of: Set(metrics.keys)), "metrics.jsonl has \(keys.sorted()), MLflow \(metrics.keys.sorted())")
        for key in keys {
            var history = metrics[key] ?? []
            if allowingRepeats { history = history.enumerated().filter { $0.offset == 0 || history[$0.offset - 1] != $0.element }.map(\.element) }
            #expect(history.map { Int($0[0]) } == Array(1...epochs), "\(key) steps \(history)")
            for (point, line) in zip(history, lines) {
                let expected = line[key]!
                #expect(abs(point[1] - expected) <= 1e-12 * max(1, abs(expected)), "\(key) epoch \(line["epoch"]!): \(point[1]) vs \(expected)")
            }
        }
    }

    private func aSweepsTrialsAreChildRunsOfOneParent(_ python: ToolchainPython, _ server: MLflowServer, _ folder: TemporaryFolder) throws {
        let base = ToolchainFixtures.config(name: "swept", """
            epochs: 2
            callbacks: {mlflow: {tracking_uri: \(server.url.absoluteString), experiment: flock-sweeps}}
            """)
        let sweep = try folder.write("sweep.yaml", ToolchainFixtures.sweep(study: "tracked-sweep", base: base, """
            space:
              - {name: optimizer.lr, type: float, low: 0.01, high: 0.1, log: true}
            objective: {metric: val_accuracy, direction: maximize}
            budget: {trials: 3}
            sampler: {name: random}
            """))
        let directory = folder.url.appendingPathComponent("sweep")
        let swept = try ChildProcess.flock(["sweep", sweep.path, "--dir", directory.path], timeout: 400)
        try #require(swept.status == 0, "\(swept.output)")
        let trials = try ToolchainFixtures.flockTrials(store: directory.appendingPathComponent("flock.sqlite").path)
        let runs = try python.json(Self.readExperiment, [server.url.absoluteString, "flock-sweeps"]) as! [[String: Any]]
        let parents = runs.filter { $0["parent"] is NSNull || $0["parent"] == nil }
        try #require(parents.count == 1, "runs: \(runs)")
        let parentID = parents[0]["id"] as! String
        let children = runs.filter { $0["parent"] as? String == parentID }
        #expect(children.count == trials.count && runs.count == trials.count + 1)
        for trial in trials {
            let number = trial["number"] as! Int
            let child = try #require(children.first { ($0["tags"] as! [String: String])["flock.trial"] == "\(number)" }, "no child run of trial \(number)")
            let sampled = (trial["params"] as! [String: Any])["optimizer.lr"] as! Double
            // `flock trials --json` prints doubles through Foundation's JSON writer, which can
            // be an ulp off the stored value; MLflow's param is the value's exact text.
            let logged = Double((child["params"] as! [String: String])["optimizer.lr"] ?? "") ?? .nan
            #expect(abs(logged - sampled) <= 1e-14 * sampled, "trial \(number): \(logged) vs \(sampled)")
            let metrics = child["metrics"] as! [String: [[Double]]]
            let value = try #require(trial["value"] as? Double)
            #expect(abs((metrics["value"]?.first?[1] ?? .nan) - value) <= 1e-12, "trial \(number): \(metrics["value"] ?? []) vs \(value)")
            #expect(metrics["val_accuracy"]?.map { Int($0[0]) } == [1, 2])
            #expect(child["status"] as? String == "FINISHED")
        }
        // The driver started again (its budget spent) continues the same parent run.
        let again = try ChildProcess.flock(["sweep", sweep.path, "--dir", directory.path], timeout: 120)
        try #require(again.status == 0, "\(again.output)")
        let after = try python.json(Self.readExperiment, [server.url.absoluteString, "flock-sweeps"]) as! [[String: Any]]
        #expect(after.count == runs.count && after.filter { $0["parent"] is NSNull || $0["parent"] == nil }.map { $0["id"] as! String } == [parentID])
    }

    private func aServerKilledMidRunStopsNothing(_ python: ToolchainPython, _ server: MLflowServer, _ folder: TemporaryFolder) throws {
        let config = try folder.write("orphan.yaml", ToolchainFixtures.config(name: "orphan", """
            epochs: 10
            callbacks: {mlflow: {tracking_uri: \(server.url.absoluteString), experiment: flock-tests, flush_timeout: 5}}
            """))
        let run = folder.url.appendingPathComponent("orphan")
        let training = try BackgroundProcess(ChildProcess.flockExecutable, ["train", config.path, "--run-dir", run.path], folder: folder)
        defer { training.kill() }
        // Killed once the first epoch is logged, while later epochs still train.
        let metricsFile = run.appendingPathComponent("metrics.jsonl")
        let deadline = Date(timeIntervalSinceNow: 300)
        while training.isRunning && Date() < deadline && ((try? String(contentsOf: metricsFile, encoding: .utf8)) ?? "").isEmpty {
            usleep(20_000)
        }
        server.kill()
        let status = training.wait(seconds: 300)
        #expect(status == 0, "\(training.output)")
        #expect(training.output.contains("warning: MLflow server \(server.url.absoluteString)"), "\(training.output)")
        #expect(try ToolchainFixtures.metricsLines(run).map { Int($0["epoch"]!) } == Array(1...10))
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("summary.json").path))
        let unsentFile = run.appendingPathComponent(MLflowUnsentFile.fileName)
        let unsent = (try? String(contentsOf: unsentFile, encoding: .utf8)) ?? ""
        #expect(unsent.contains("\"end\""), "the run's end is kept among the unsent requests: \(unsent)")

        // The server back, the run resumed to 12 epochs: the kept metrics are sent, and
        // MLflow's run holds every epoch of metrics.jsonl.
        try server.restart()
        let resumed = try ChildProcess.flock(["train", config.path, "--run-dir", run.path, "--resume", "--set", "epochs=12"], timeout: 300)
        try #require(resumed.status == 0, "\(resumed.output)")
        #expect(!FileManager.default.fileExists(atPath: unsentFile.path), "\(resumed.output)")
        let runID = try #require(MLflowRunFile.read(in: run)).runID
        let logged = try python.json(Self.readRun, [server.url.absoluteString, runID]) as! [String: Any]
        #expect(logged["status"] as? String == "FINISHED")
        try expectMetrics(logged, equal: run, epochs: 12, allowingRepeats: true)
    }
}

/// A child process whose output goes to a file, waited for with a deadline.
final class BackgroundProcess {
    private let process = Process()
    private let log: URL

    init(_ executable: URL, _ arguments: [String], folder: TemporaryFolder, environment: [String: String] = [:]) throws {
        log = folder.url.appendingPathComponent("background-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ChildProcess.environment(environment)
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
    }

    var isRunning: Bool { process.isRunning }
    var output: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

    /// The exit status; nil (after SIGKILL) when it is still running at the deadline.
    func wait(seconds: Double) -> Int32? {
        let deadline = Date(timeIntervalSinceNow: seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(); return nil }
        return process.terminationStatus
    }

    func kill() {
        if process.isRunning { _ = Glibc.kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
