import FlockComm
import FlockParallel
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// A checkpoint's state is input like any other: covered by the manifest's checksum, and
/// every value checked against the job before anything is restored.
@Suite struct CheckpointValidationTests {
    /// A one-epoch checkpoint of the library trainer, on disk and loaded.
    func saved(_ folder: TemporaryFolder) throws -> (data: TrainingData, checkpoint: Checkpoint) {
        let data = try LibraryTrainerTests.data()
        let trainer = try LibraryTrainerTests.trainer(data, epochs: 1)
        trainer.checkpointFolder = folder.url
        _ = try trainer.fit()
        return (data, try Checkpoint.load(folder.url.appendingPathComponent("last")))
    }

    @Test func anEditedStateIsCaughtByTheManifest() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (_, checkpoint) = try saved(folder)
        let stateURL = checkpoint.url.appendingPathComponent("state.json")
        var state = checkpoint.state
        state.epoch = 0
        try JSONValue.encoder.encode(state).write(to: stateURL)
        let error = #expect(throws: Checkpoint.LoadError.self) { try Checkpoint.readState(checkpoint.url) }
        #expect(error?.description.hasPrefix("\(stateURL.path): checksum mismatch: manifest.json records SHA-256") == true,
                "\(String(describing: error))")
    }

    @Test func aCheckpointWrittenBeforeManifestsStillLoads() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (_, checkpoint) = try saved(folder)
        try FileManager.default.removeItem(at: checkpoint.url.appendingPathComponent("manifest.json"))
        // Format 2 promises a manifest: without it the checkpoint is incomplete.
        let error = #expect(throws: Checkpoint.LoadError.self) { try Checkpoint.load(checkpoint.url) }
        #expect(error?.description.contains("manifest.json: missing, but state.json (format 2) was written with one") == true)
        var state = checkpoint.state
        state.formatVersion = 1
        try JSONValue.encoder.encode(state).write(to: checkpoint.url.appendingPathComponent("state.json"))
        let loaded = try Checkpoint.load(checkpoint.url)
        let (loadedModel, savedModel) = (try loaded.model, try checkpoint.model)
        #expect(loaded.state.epoch == 1 && loadedModel.count == savedModel.count)
    }

    @Test func worldAndStreamsThatDoNotFitAreLoadErrorsNamingTheField() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (data, saved) = try saved(folder)
        let cases: [(String, (inout TrainingState) -> Void)] = [
            ("world_size: expected a rank count", { $0.worldSize = 0 }),
            ("dropout_generators: expected one stream per rank (7), got 1", { $0.worldSize = 7 }),
            ("dropout_generators: expected one stream per rank (1), got 0", { $0.dropoutGenerators = [] }),
            ("layout: data 2 × pipeline 1 × tensor 1 does not make world_size 1", { $0.layout = .init(data: 2, pipeline: 1, tensor: 1) }),
            ("samples_seen: expected a count ≥ 0, got -10", { $0.samplesSeen = -10 }),
            ("training_seconds: expected a finite time ≥ 0, got -1.0", { $0.trainingSeconds = -1 }),
        ]
        for (message, edit) in cases {
            var state = saved.state
            edit(&state)
            let damaged = try Checkpoint(url: saved.url, state: state, model: saved.model, optimizer: saved.optimizer, bestModel: saved.bestModel)
            let error = #expect(throws: Checkpoint.LoadError.self) { try LibraryTrainerTests.trainer(data, epochs: 2).resume(from: damaged) }
            #expect(error?.description.contains("state.json: \(message)") == true, "\(String(describing: error))")
        }
        let zeroStream = try JSONValue.decoder.decode(RandomGenerator.self, from: Data(#"["0","0","0","0"]"#.utf8))
        var state = saved.state
        state.dropoutGenerators = [zeroStream]
        let damaged = try Checkpoint(url: saved.url, state: state, model: saved.model, optimizer: saved.optimizer, bestModel: saved.bestModel)
        let error = #expect(throws: Checkpoint.LoadError.self) { try LibraryTrainerTests.trainer(data, epochs: 2).resume(from: damaged) }
        #expect(error?.description.contains("dropout_generators[0]: an all-zero generator state") == true)
        // The same checkpoint, unedited, resumes exactly (nothing to note).
        #expect(try LibraryTrainerTests.trainer(data, epochs: 2).resume(from: saved).isEmpty)
    }

    @Test func aDataParallelWidthChangeResumesAndSaysWhatDoesNotCarryOver() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (data, saved) = try saved(folder)
        let url = saved.url
        let notes = try LocalCommunicator.run(ranks: 2, deadline: 60) { comm in
            try LibraryTrainerTests.trainer(data, epochs: 2, step: .dataParallel(layout: try ParallelLayout(world: comm)))
                .resume(from: try Checkpoint.load(url))
        }
        #expect(notes[0] == notes[1])
        #expect(notes[0].first == "the checkpoint was written by 1 rank (data 1 × pipeline 1 × tensor 1) and resumes on 2 ranks (data 2 × pipeline 1 × tensor 1): weights, optimizer state and the epoch position carry over")
        #expect(notes[0].contains { $0.hasPrefix("the data-parallel width changed (1 → 2)") })
    }
}

/// Safetensors headers are checked entry by entry and against each other before any
/// tensor is allocated.
@Suite struct SafeTensorsOverlapTests {
    func file(_ header: String, dataBytes: Int) -> Data {
        var json = Data(header.utf8)
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var length = UInt64(json.count).littleEndian
        var data = Data(bytes: &length, count: 8)
        data.append(json)
        data.append(Data(count: dataBytes))
        return data
    }

    @Test func overlappingTensorsAreAFormatError() {
        let header = #"{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}"#
        let error = #expect(throws: SafeTensors.FormatError.self) { _ = try SafeTensors.decode(file(header, dataBytes: 16), path: "x.safetensors") }
        #expect(error?.description == "x.safetensors: tensors a and b overlap in the data (bytes 0..<16 and 8..<16)")
        let apart = #"{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}"#
        #expect((try? SafeTensors.decode(file(apart, dataBytes: 16), path: "x"))?.count == 2)
    }
}
