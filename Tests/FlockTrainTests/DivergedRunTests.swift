import FlockStore
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// `callbacks.terminate_on_nan: false`: the user chose to train on through non-finite
/// values, so a run that diverges ends as asked, writes everything a run writes (NaN and
/// ±inf as the strings "NaN", "Infinity", "-Infinity"), and the store agrees with the exit
/// status.
@Suite(.hangLimit) struct DivergedRunTests {
    @Test func aDivergedRunWithTerminateOnNaNOffEndsAsTheUserAsked() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try folder.write("diverge.yaml", """
            seed: 1
            epochs: 2
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 64}
            model: [{type: dense, units: 16, activation: relu}, {type: dense, units: 10}]
            optimizer: {name: sgd, lr: 1.0e+30}
            callbacks: {terminate_on_nan: false}
            """)
        let run = folder.url.appendingPathComponent("run")
        let outcome = try ChildProcess.flock(["train", config.path, "--run-dir", run.path])
        #expect(outcome.status == 0, "\(outcome.standardError)")

        // metrics.jsonl: one line per epoch, strict JSON, the loss read back as not finite.
        let lines = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 2)
        for line in lines { #expect(try JSONSerialization.jsonObject(with: Data(line.utf8)) is [String: Any], "\(line)") }
        #expect(lines.last!.contains(#""loss":"NaN""#) || lines.last!.contains(#""loss":"Infinity""#), "\(lines.last!)")
        let epochs = RunResults(directory: run).epochs()
        #expect(epochs.count == 2 && epochs.last!.values["loss"]!.isFinite == false)

        // summary.json: written, and read back with its non-finite values.
        let summary = try RunResults(directory: run).summary()
        #expect(summary.epochsRun == 2 && summary.final["loss"]!.isFinite == false)

        // The store says completed, as the exit status does.
        let store = try ExperimentStore(path: folder.url.appendingPathComponent("flock.sqlite").path)
        let record = try #require(try store.run(id: run.standardizedFileURL.path))
        #expect(record.status == .completed)

        // What reads the run takes the non-finite values: `flock evaluate --json` prints
        // strict JSON, `flock report` draws the run.
        let evaluated = try ChildProcess.flock(["evaluate", config.path, "--checkpoint", run.path, "--json"])
        #expect(evaluated.status == 0, "\(evaluated.standardError)")
        let printed = try JSONSerialization.jsonObject(with: Data(evaluated.standardOutput.utf8)) as? [String: Any]
        #expect(FlockJSON.number((printed?["metrics"] as? [String: Any])?["val_loss"])?.isFinite == false, "\(evaluated.standardOutput)")
        let report = try ChildProcess.flock(["report", run.path, "--output", folder.url.appendingPathComponent("report.html").path])
        #expect(report.status == 0, "\(report.standardError)")

        // The last checkpoint's state.json holds the non-finite metrics and loads again,
        // also as a checkpoint from before wrote them ("nan", "inf").
        let stateData = try Data(contentsOf: run.appendingPathComponent("checkpoints/last/state.json"))
        let state = try TrainingState.decoded(from: stateData)
        #expect(state.lastMetrics["loss"]?.isFinite == false)
        let legacy = String(decoding: stateData, as: UTF8.self).replacingOccurrences(of: #""NaN""#, with: #""nan""#)
            .replacingOccurrences(of: #""-Infinity""#, with: #""-inf""#).replacingOccurrences(of: #""Infinity""#, with: #""inf""#)
        #expect(legacy != String(decoding: stateData, as: UTF8.self))
        #expect(try TrainingState.decoded(from: Data(legacy.utf8)).lastMetrics["loss"]?.isFinite == false)
    }

    /// A run whose outputs cannot be written fails, and the store says failed, not completed.
    @Test func aRunThatCannotWriteItsSummaryIsRecordedAsFailed() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try ConfigLoader.decode(yaml: """
            epochs: 1
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 256}
            model: [{type: dense, units: 10}]
            callbacks: {model_checkpoint: false}
            """, baseDirectory: "/")
        let directory = folder.url.appendingPathComponent("run")
        let run = try TrainingRun(config: config, runDirectory: directory.path)
        // A folder where summary.json goes: the rename that writes it fails.
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("summary.json/inside"), withIntermediateDirectories: true)
        #expect(throws: RunDirectoryError.self) { _ = try run.run() }
        let record = try #require(try run.store?.run(id: directory.standardizedFileURL.path))
        #expect(record.status == .failed)
        #expect(record.error?.contains("summary.json") == true)
    }
}
