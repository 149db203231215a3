import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

/// `flock train` as a user runs it, in a child process under a timeout.
@Suite struct TrainCommandTests {
    let digitsConfig = ChildProcess.repositoryRoot.appendingPathComponent("examples/digits-mlp.yaml").path

    @Test func badValueFailsWithTheFieldAndLeavesNoRunDirectory() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let runDirectory = folder.url.appendingPathComponent("run").path
        let outcome = try ChildProcess.flock(["train", digitsConfig, "--set", "model[2].units=-3", "--run-dir", runDirectory])
        #expect(!outcome.timedOut)
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("model[2].units: expected a positive integer, got -3"))
        #expect(!FileManager.default.fileExists(atPath: runDirectory))
    }

    @Test func unknownLayerFails() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let runDirectory = folder.url.appendingPathComponent("run").path
        let outcome = try ChildProcess.flock(["train", digitsConfig, "--set", "model[0].type=spiral", "--run-dir", runDirectory])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("model[0].type: unknown layer type 'spiral'"))
        #expect(!FileManager.default.fileExists(atPath: runDirectory))
    }

    @Test func missingDataFileFailsWithItsPath() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try folder.write("c.yaml", """
            data: {source: nowhere.csv}
            model: [{type: dense, units: 2}]
            """)
        let runDirectory = folder.url.appendingPathComponent("run").path
        let outcome = try ChildProcess.flock(["train", config.path, "--run-dir", runDirectory])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("\(folder.url.path)/nowhere.csv: file not found"))
        #expect(!FileManager.default.fileExists(atPath: runDirectory))
    }

    @Test func missingConfigFileAndMalformedYAML() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let missing = try ChildProcess.flock(["train", folder.url.appendingPathComponent("absent.yaml").path])
        #expect(missing.status != 0 && missing.standardError.contains("absent.yaml: config file not found"))
        let broken = try folder.write("broken.yaml", "data: {source: [unclosed\n")
        let malformed = try ChildProcess.flock(["train", broken.path])
        #expect(malformed.status != 0 && malformed.standardError.contains("invalid YAML"))
    }

    @Test func wrongOutputWidthIsCaughtBeforeTraining() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let runDirectory = folder.url.appendingPathComponent("run").path
        let outcome = try ChildProcess.flock(["train", digitsConfig, "--set", "model[3].units=7", "--run-dir", runDirectory])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("model[3].units: the model outputs 7 values per sample but loss 'cross_entropy' on this data needs 10 (10 classes)"))
        #expect(!FileManager.default.fileExists(atPath: runDirectory))
    }

    @Test func aShortRunWritesConfigMetricsAndSummary() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let runDirectory = folder.url.appendingPathComponent("run")
        let outcome = try ChildProcess.flock(["train", digitsConfig, "--set", "epochs=3", "--run-dir", runDirectory.path])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let lines = try String(contentsOf: runDirectory.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        #expect(lines.count == 3)
        let summaryData = try Data(contentsOf: runDirectory.appendingPathComponent("summary.json"))
        let summary = try JSONSerialization.jsonObject(with: summaryData) as! [String: Any]
        #expect(summary["epochs_run"] as? Int == 3)
        #expect(summary["world_size"] as? Int == 1)
        #expect(summary["stopped_early"] as? Bool == false)
        let best = summary["best"] as! [String: Double]
        #expect(best.keys.sorted() == ["accuracy", "f1", "loss", "val_accuracy", "val_f1", "val_loss"])
        let perEpoch = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(best["val_accuracy"] == perEpoch.compactMap { $0["val_accuracy"] as? Double }.max())
        #expect(best["val_loss"] == perEpoch.compactMap { $0["val_loss"] as? Double }.min())
        let resolved = try String(contentsOf: runDirectory.appendingPathComponent("config.yaml"), encoding: .utf8)
        #expect(resolved.contains("epochs: 3"))
    }
}

/// `flock evaluate` and `flock runs` on a finished run.
@Suite struct InspectCommandTests {
    @Test func evaluateAndRunsReadWhatTrainingLeft() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = ChildProcess.repositoryRoot.appendingPathComponent("examples/digits-mlp.yaml").path
        let run = folder.url.appendingPathComponent("run")
        let trained = try ChildProcess.flock(["train", config, "--set", "epochs=2", "--run-dir", run.path])
        #expect(trained.status == 0, "\(trained.standardError)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: run.appendingPathComponent("summary.json"))) as! [String: Any]
        let final = summary["final"] as! [String: Double]

        let evaluated = try ChildProcess.flock(["evaluate", config, "--set", "epochs=2", "--checkpoint",
                                                run.appendingPathComponent("checkpoints/last").path, "--json"])
        #expect(evaluated.status == 0, "\(evaluated.standardError)")
        let report = try JSONSerialization.jsonObject(with: Data(evaluated.standardOutput.utf8)) as! [String: Any]
        let metrics = report["metrics"] as! [String: Double]
        // The last checkpoint is the end of training: the same validation metrics.
        #expect(abs(metrics["val_accuracy"]! - final["val_accuracy"]!) < 1e-9)
        let confusion = report["confusion_matrix"] as! [[Int]]
        #expect(confusion.count == 10 && confusion.joined().reduce(0, +) == 359)

        let listed = try ChildProcess.flock(["runs", "--store", folder.url.appendingPathComponent("flock.sqlite").path, "--json"])
        #expect(listed.status == 0, "\(listed.standardError)")
        let runs = try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as! [[String: Any]]
        #expect(runs.count == 1 && runs[0]["status"] as? String == "completed" && runs[0]["epochs_run"] as? Int == 2)
        #expect((runs[0]["best"] as! [String: Double])["val_accuracy"] == (summary["best"] as! [String: Double])["val_accuracy"])

        let missing = try ChildProcess.flock(["evaluate", config, "--checkpoint", folder.url.appendingPathComponent("nope").path])
        #expect(missing.status != 0 && missing.standardError.contains("nope: no such checkpoint"))
    }
}
