import FlockNN
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Messages for data as users have it.
@Suite struct DataMessageTests {
    @Test func labelsFromOneToKSayWhyTheyNeedKPlusOneOutputs() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let rows = (0..<30).map { "\(Double($0) / 10),\($0 % 3 + 1)" }
        let csv = try folder.write("one-based.csv", "x,label\n" + rows.joined(separator: "\n") + "\n")
        let config = try ConfigLoader.decode(yaml: """
            data: {source: \(csv.path), label_column: label, batch_size: 8}
            model: [{type: dense, units: 3}]
            """, baseDirectory: "/")
        let error = #expect(throws: ConfigError.self) { _ = try Trainer(config: config) }
        #expect(error?.description.contains("the model outputs 3 values per sample but loss 'cross_entropy' on this data needs 4 (4 classes); the labels run from 1 to 3 and classes are numbered from 0") == true,
                "\(String(describing: error))")
    }
}

/// A checkpoint written before a config field existed still resumes.
@Suite struct OlderCheckpointTests {
    @Test func aCheckpointWithoutTheNewerDataFieldsResumes() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try ConfigLoader.decode(yaml: """
            seed: 3
            epochs: 2
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 64}
            model: [{type: dense, units: 10}]
            """, baseDirectory: "/")
        let run = folder.url.appendingPathComponent("run")
        let training = try TrainingRun(config: config, runDirectory: run.path)
        training.trainer.options.epochs = 1
        _ = try training.run()
        // As an older version wrote it: without the data fields added since, checksum updated.
        let checkpoint = run.appendingPathComponent("checkpoints/last").resolvingSymlinksInPath()
        let yamlURL = checkpoint.appendingPathComponent("config.yaml")
        let older = try String(contentsOf: yamlURL, encoding: .utf8).split(separator: "\n")
            .filter { line in !["sampling:", "delimiter:", "missing:", "target_normalization:"].contains { line.contains($0) } }
            .joined(separator: "\n") + "\n"
        try older.write(to: yamlURL, atomically: true, encoding: .utf8)
        let stateURL = checkpoint.appendingPathComponent("state.json")
        var state = try JSONValue.decoder.decode(TrainingState.self, from: Data(contentsOf: stateURL))
        state.files["config.yaml"] = SHA256.hex(of: Data(older.utf8))
        try JSONValue.encoder.encode(state).write(to: stateURL)
        try CheckpointManifest.reseal(checkpoint)
        let loaded = try Checkpoint.load(checkpoint, expectingConfig: try ConfigLoader.yaml(of: config))
        #expect(loaded.state.epoch == 1)
        // A real difference is still caught.
        var other = config
        other.data.batchSize = 32
        let error = #expect(throws: Checkpoint.LoadError.self) { try Checkpoint.load(checkpoint, expectingConfig: try ConfigLoader.yaml(of: other)) }
        #expect(error?.description.contains("data.batch_size: checkpoint 64, this run 32") == true, "\(String(describing: error))")
    }
}
