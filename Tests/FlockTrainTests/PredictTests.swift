import FlockData
import FlockStore
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Using a trained model on new data: the saved preprocessing, `Predictor`, `flock predict`.
@Suite(.serialized) struct PredictTests {
    static let diabetes = ChildProcess.repositoryRoot.appendingPathComponent("examples/data/diabetes.csv").path

    /// Trains `yaml` into a run directory under `folder`; returns the run directory.
    static func train(_ yaml: String, in folder: TemporaryFolder, name: String = "run") throws -> URL {
        let config = try ConfigLoader.decode(yaml: yaml, baseDirectory: "/")
        let run = folder.url.appendingPathComponent(name)
        _ = try TrainingRun(config: config, runDirectory: run.path).run()
        return run
    }

    static let digitsConfig = """
        seed: 3
        epochs: 2
        data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 64}
        model:
          - {type: dense, units: 32, activation: relu}
          - {type: dense, units: 10}
        optimizer: {name: adam, lr: 0.01}
        """

    @Test func regressionWithStandardizedTargetsReachesTheLinearModelsR2() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try Self.train("""
            seed: 7
            epochs: 100
            data: {source: \(Self.diabetes), label_column: target, batch_size: 32}
            model:
              - {type: dense, units: 32, activation: relu}
              - {type: dense, units: 1}
            loss: {name: mse}
            optimizer: {name: adam, lr: 0.001}
            metrics: [mse, r2]
            """, in: folder)
        let summary = try RunResults(directory: run).summary()
        // scikit-learn's LinearRegression reaches R² ≈ 0.45 on held-out diabetes rows.
        #expect(summary.final["val_r2"]! >= 0.45, "\(summary.final)")
        // Metrics are in the target's units (disease progression, std ≈ 77), not standardized ones.
        #expect(summary.final["val_mse"]! > 1_000, "\(summary.final)")
        let saved = try Preprocessing.decode(Data(contentsOf: run.appendingPathComponent("preprocessing.json")), path: "p")
        let scaling = try #require(saved.targetScaling)
        #expect(abs(scaling.mean[0] - 152) < 5 && abs(scaling.std[0] - 77) < 5, "\(scaling)")
    }

    @Test func idxFilesPredictWithTheirLabelsOptional() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        try StreamingTrainingTests.writeSeparableIDX(rows: 3000, width: 8, in: folder)
        let images = folder.url.appendingPathComponent("images.idx").path, labels = folder.url.appendingPathComponent("labels.idx").path
        let run = try Self.train("""
            seed: 2
            epochs: 3
            data: {source: \(images), labels: \(labels), batch_size: 64}
            model:
              - {type: dense, units: 8, activation: relu}
              - {type: dense, units: 2}
            optimizer: {name: adam, lr: 0.01}
            """, in: folder)
        let scored = try ChildProcess.flock(["predict", run.path, "--data", images, "--labels", labels])
        #expect(scored.status == 0, "\(scored.output)")
        #expect(scored.standardOutput.split(separator: "\n").count == 3001)   // a header, then one line per sample
        let accuracy = try #require(scored.standardError.firstMatch(of: /accuracy (\d\.\d+)/).flatMap { Double($0.1) })
        #expect(accuracy >= 0.9, "\(scored.standardError)")
        let unlabeled = try Predictor(path: run.path).predict(idx: images)
        #expect(unlabeled.labels.count == 3000 && unlabeled.metrics == nil)
        let mismatched = try ChildProcess.flock(["predict", run.path, "--data", images, "--labels", images])
        #expect(mismatched.status != 0 && mismatched.output.contains(images), "\(mismatched.output)")
    }

    @Test func singleRowsPredictAsTheWholeFileDoes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try Self.train(Self.digitsConfig, in: folder)
        let predictor = try Predictor(path: run.path)
        let whole = try predictor.predict(csv: ChildProcess.digitsCSV)
        let lines = try String(contentsOfFile: ChildProcess.digitsCSV, encoding: .utf8).split(separator: "\n")
        let width = whole.outputs.count / whole.labels.count
        for row in [0, 1, 500, 1796] {
            // One row alone: the statistics come from training, not from this file.
            let single = try folder.write("row-\(row).csv", "\(lines[0])\n\(lines[row + 1])\n")
            let alone = try predictor.predict(csv: single.path)
            #expect(alone.labels == [whole.labels[row]])
            // Equal up to the summation order of a one-row product against a 512-row one.
            let expected = whole.outputs.scalars[(row * width)..<((row + 1) * width)]
            let worst = zip(alone.outputs.scalars, expected).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-5 * (expected.map { abs($0) }.max() ?? 1), "row \(row): differs by \(worst)")
        }
    }

    @Test func predictionsMatchTheTrainersOnTheValidationRows() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try ConfigLoader.decode(yaml: Self.digitsConfig, baseDirectory: "/")
        let training = try TrainingRun(config: config, runDirectory: folder.url.appendingPathComponent("run").path)
        _ = try training.run()
        let trainer = training.trainer
        let validation = try trainer.data.validation.subset(Array(0..<trainer.data.validation.count))
        let expected = try trainer.parts.evaluate(features: validation.features, targets: validation.targets,
                                                  loss: trainer.loss)
        // The same rows raw, as a user would have them: read and split, not normalized.
        let raw = try CSVReader(labelColumn: .name("label")).read(path: ChildProcess.digitsCSV)
            .split(validationFraction: config.data.validationSplit, seed: UInt64(config.seed)).validation
        let predictor = try Predictor(path: folder.url.appendingPathComponent("run/checkpoints/last").path)
        let result = try predictor.predict(features: raw.features, targets: raw.targets)
        let worst = zip(result.outputs.scalars, expected.outputs.scalars).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst < 1e-5, "largest difference \(worst)")
        let (metrics, _) = try trainer.evaluateValidation()
        #expect(abs(result.metrics!["accuracy"]! - metrics["val_accuracy"]!) < 1e-12, "\(result.metrics!) vs \(metrics)")
    }

    @Test func aRunDirectoryMeansItsBestCheckpoint() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try Self.train(Self.digitsConfig.replacingOccurrences(of: "epochs: 2", with: "epochs: 3"), in: folder)
        let last = try Checkpoint.load(run.appendingPathComponent("checkpoints/last"))
        let kept = try #require(last.state.keptCheckpoints)
        let values = try #require(try last.state.callbacks[TrainingState.modelCheckpointKey]?.decode(ModelCheckpoint.State.self)).kept
        let best = values.filter { $0.value != nil }.min { $0.value! < $1.value! }!
        let (folderChosen, choice) = try CheckpointLocation.resolve(run.path)
        #expect(folderChosen.lastPathComponent == best.name, "\(kept), chose \(choice)")
        #expect(choice.contains("best checkpoint \(best.name) (val_loss"), "\(choice)")
        #expect(try Checkpoint.load(folderChosen).preprocessing == last.preprocessing)
        let error = #expect(throws: Checkpoint.LoadError.self) { try CheckpointLocation.resolve(folder.url.path) }
        #expect(error?.description.contains("neither a checkpoint (no state.json) nor a run directory (no checkpoints/last)") == true)
    }

    @Test func theCommandWritesOneLinePerRowAndNamesBadInput() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try Self.train(Self.digitsConfig, in: folder)
        let out = folder.url.appendingPathComponent("predictions.csv")
        let outcome = try ChildProcess.flock(["predict", run.path, "--data", ChildProcess.digitsCSV, "--output", out.path, "--probabilities"])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let lines = try String(contentsOf: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 1 + 1797 && lines[0] == "prediction,p_0,p_1,p_2,p_3,p_4,p_5,p_6,p_7,p_8,p_9")
        #expect(outcome.standardOutput.contains("1797 rows") && outcome.standardError.contains("labels present: accuracy"),
                "\(outcome.standardOutput) \(outcome.standardError)")
        let missing = try ChildProcess.flock(["predict", run.path, "--data", "/nonexistent/new.csv"])
        #expect(missing.status != 0 && missing.standardError.contains("/nonexistent/new.csv: file not found"), "\(missing.standardError)")
        let notARun = try ChildProcess.flock(["predict", folder.url.path, "--data", ChildProcess.digitsCSV])
        #expect(notARun.status != 0 && notARun.standardError.contains("neither a checkpoint"), "\(notARun.standardError)")
        #expect(!FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("none.csv").path))
    }
}
