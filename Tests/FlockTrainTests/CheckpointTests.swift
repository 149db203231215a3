import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

/// Checkpoint files against the formats they claim, and loading that says what is wrong.
@Suite struct CheckpointTests {
    static let digits = DataParallelTests.digits

    static func config(_ extra: String = "", _ overrides: [String] = []) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 3
            epochs: 3
            data: {source: \(digits), label_column: label, batch_size: 64}
            model:
              - {type: dense, units: 24, activation: relu}
              - {type: dropout, rate: 0.2}
              - {type: dense, units: 10}
            optimizer: {name: adam, lr: 0.003}
            \(extra)
            """, overrides: overrides, baseDirectory: "/")
    }

    /// A reader written from the safetensors spec, independent of `SafeTensors.read`.
    static func parseSafetensors(_ data: Data) throws -> [String: (shape: [Int], values: [Float])] {
        let bytes = [UInt8](data)
        #expect(bytes.count >= 8)
        var headerLength = 0
        for i in 0..<8 { headerLength |= Int(bytes[i]) << (8 * i) }
        #expect((8 + headerLength) % 8 == 0, "data must start 8-byte aligned")
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as! [String: Any]
        var result: [String: (shape: [Int], values: [Float])] = [:]
        var ranges: [Range<Int>] = []
        for (name, entry) in header where name != "__metadata__" {
            let entry = entry as! [String: Any]
            #expect(entry["dtype"] as? String == "F32")
            let shape = entry["shape"] as! [Int], offsets = entry["data_offsets"] as! [Int]
            #expect(offsets[1] - offsets[0] == shape.reduce(1, *) * 4)
            ranges.append(offsets[0]..<offsets[1])
            let start = 8 + headerLength + offsets[0]
            let values = stride(from: start, to: 8 + headerLength + offsets[1], by: 4).map { at in
                Float(bitPattern: UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
            }
            result[name] = (shape, values)
        }
        // The tensors tile the data section exactly, with no gaps or overlaps.
        let sorted = ranges.sorted { $0.lowerBound < $1.lowerBound }
        #expect(sorted.first?.lowerBound == 0)
        for (a, b) in zip(sorted, sorted.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
        #expect(8 + headerLength + (sorted.last?.upperBound ?? 0) == bytes.count)
        return result
    }

    func trainedRun(_ folder: TemporaryFolder, _ config: TrainingConfig) throws -> URL {
        let path = folder.url.appendingPathComponent("run").path
        let run = try TrainingRun(config: config, runDirectory: path)
        _ = try run.run()
        return URL(fileURLWithPath: path)
    }

    @Test func filesFollowTheSafetensorsSpecAndHoldTheWeights() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try Self.config()
        let trainer = try Trainer(config: config)
        _ = try trainer.fit()
        let tensors = try Self.parseSafetensors(try SafeTensors.encode(trainer.parameters))
        #expect(Set(tensors.keys) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"])
        for slot in trainer.parameters.slots {
            #expect(tensors[slot.name]!.shape == slot.shape)
            #expect(tensors[slot.name]!.values == trainer.parameters.value(of: slot).scalars)
        }
        let run = try trainedRun(folder, config)
        let last = run.appendingPathComponent("checkpoints/last")
        let optimizer = try Self.parseSafetensors(try Data(contentsOf: last.appendingPathComponent("optimizer.safetensors")))
        #expect(Set(optimizer.keys) == ["first_moment", "second_moment"])
        let state = try JSONSerialization.jsonObject(with: Data(contentsOf: last.appendingPathComponent("state.json"))) as! [String: Any]
        #expect(state["epoch"] as? Int == 3 && state["world_size"] as? Int == 1)
        let files = state["files"] as! [String: String]
        for (name, digest) in files {
            #expect(SHA256.hex(of: try Data(contentsOf: last.appendingPathComponent(name))) == digest)
        }
    }

    @Test func sha256MatchesKnownVectors() {
        #expect(SHA256.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(of: [UInt8]()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(SHA256.hex(of: million) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func truncatedOrCorruptFilesAreNamed() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try trainedRun(folder, try Self.config())
        let last = run.appendingPathComponent("checkpoints/last").resolvingSymlinksInPath()
        let model = last.appendingPathComponent("model.safetensors")
        let original = try Data(contentsOf: model)

        try original.prefix(original.count - 10).write(to: model)
        var error = #expect(throws: Checkpoint.LoadError.self) { try Checkpoint.load(last) }
        #expect(error?.description.contains("model.safetensors: checksum mismatch") == true, "\(error!)")
        #expect(error?.description.contains("truncated or corrupt") == true)

        // A damaged byte is found when the block holding it is read (each rank reads its
        // part; this file is one block, read for its header).
        var flipped = original
        flipped[flipped.count / 2] ^= 0xFF
        try flipped.write(to: model)
        error = #expect(throws: Checkpoint.LoadError.self) { try Checkpoint.load(last).model }
        #expect(error?.description.contains("model.safetensors: checksum mismatch in bytes 0..<\(original.count)") == true, "\(error!)")

        try original.write(to: model)
        try Data("{not json".utf8).write(to: last.appendingPathComponent("state.json"))
        error = #expect(throws: Checkpoint.LoadError.self) { try Checkpoint.load(last) }
        #expect(error?.description.contains("state.json: checksum mismatch: manifest.json records") == true, "\(error!)")
        try CheckpointManifest.reseal(last)
        error = #expect(throws: Checkpoint.LoadError.self) { try Checkpoint.load(last) }
        #expect(error?.description.contains("state.json: not a valid checkpoint state") == true)
    }

    @Test func aCheckpointFromAnotherConfigSaysWhatDiffers() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try trainedRun(folder, try Self.config())
        let other = try ConfigLoader.yaml(of: try Self.config("", ["optimizer.lr=0.01", "model[0].units=32"]))
        let error = #expect(throws: Checkpoint.LoadError.self) {
            try Checkpoint.load(run.appendingPathComponent("checkpoints/last"), expectingConfig: other)
        }
        let text = error?.description ?? ""
        #expect(text.contains("written by a different config"), "\(text)")
        #expect(text.contains("model[0].units: checkpoint 24, this run 32"), "\(text)")
        #expect(text.contains("optimizer.lr: checkpoint 0.003, this run 0.01"), "\(text)")
    }
}
