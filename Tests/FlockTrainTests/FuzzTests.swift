import FlockData
import FlockNN
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Fuzz targets for everything that reads outside input: for any input, a thrown error or
/// a valid result — never a trap (which would end this test process) and never a hang
/// (the time limit). A short run by default; `FLOCK_FUZZ_ITERATIONS=100000` for a long one.
/// Inputs that once trapped are kept as regression cases beside each target.
@Suite(.hangLimit) struct FuzzTests {
    static func example(_ name: String) throws -> Data {
        try Data(contentsOf: ChildProcess.repositoryRoot.appendingPathComponent("examples/\(name)"))
    }

    /// Decoding and validating configs: every example config, mutated.
    @Test func configDecoder() throws {
        let seeds = try ["digits-mlp.yaml", "digits-cnn.yaml", "digits-resnet.yaml", "digits-pipeline.yaml",
                         "diabetes-regression.yaml", "digits-finetune.yaml"].map(Self.example)
        // Once trapped: overflowing shape product, warm-up epochs × steps, huge windows.
        let regressions = ["data: {source: d.csv, shape: [4294967296, 4294967296]}\nmodel: [{type: dense, units: 2}]",
                           "data: {source: d.csv}\nmodel: [{type: dense, units: 2}]\nschedule: {name: cosine, warmup_epochs: 9223372036854775807}",
                           "data: {source: d.csv}\nmodel: [{type: max_pool2d, pool: 9223372036854775807}]"].map { Data($0.utf8) }
        var fuzzer = MutationFuzzer(seeds: seeds + regressions)
        var accepted = 0
        fuzzer.run(iterations: MutationFuzzer.iterations(default: 1500)) { input in
            if (try? ConfigLoader.decode(yaml: String(decoding: input, as: UTF8.self), baseDirectory: "/data")) != nil { accepted += 1 }
        }
        // Not only errors: the mutations leave some configs valid, so decoding goes deep.
        #expect(accepted > seeds.count)
    }

    /// CSV parsing, then labels as the trainer takes them (class indices, regression targets).
    @Test func csvReader() throws {
        let digits = try String(contentsOfFile: ChildProcess.digitsCSV, encoding: .utf8)
        let head = digits.split(separator: "\n").prefix(12).joined(separator: "\n")
        let seeds = [head, "a;b;label\n1;2;x\n3;4;y\n", "a,label\n\"1,5\",0\n2,NA\n", "x,y\n1e30,0\n-1,1e19\n"].map { Data($0.utf8) }
        var fuzzer = MutationFuzzer(seeds: seeds)
        fuzzer.run(iterations: MutationFuzzer.iterations(default: 1500)) { input in
            let text = String(decoding: input, as: UTF8.self)
            for delimiter in [",", ";"] as [Character] {
                let reader = CSVReader(labelColumn: .index(-1), delimiter: delimiter)
                if let contents = try? reader.parseContents(text, path: "fuzz.csv"), let targets = contents.targets {
                    for binary in [false, true] {
                        _ = try? TrainingData.checkClassLabels(targets.scalars, file: "fuzz.csv", lines: contents.lines, binary: binary,
                                                               loss: "cross_entropy")
                    }
                }
            }
        }
    }

    /// What the IDX reader accepts is what the bytes say: a header of 4 + 4·rank bytes whose
    /// dimensions are the tensor's shape, exactly shape × element size bytes of data, and
    /// each value as the type code reads it; written again as float32 IDX it reads back
    /// bit for bit.
    @Test func idxReader() throws {
        func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
        func file(_ type: UInt8, _ shape: [UInt32], _ data: [UInt8]) -> Data { Data([0, 0, type, UInt8(shape.count)] + shape.flatMap(bigEndian) + data) }
        let seeds = [
            file(0x0D, [2, 3], (0..<6).flatMap { bigEndian(Float($0).bitPattern) }),  // float32, 2×3
            file(0x08, [2], [7, 9]),                                                     // unsigned bytes
            file(0x09, [3], [0xFF, 0x80, 5]),                                            // signed bytes
            file(0x0B, [2], [0xFF, 0xFE, 0x01, 0x00]),                                   // int16
            file(0x0C, [1, 1], bigEndian(0x8000_0001)),                                  // int32
            file(0x0E, [1], bigEndian(0x4009_21FB) + bigEndian(0x5444_2D18)),            // float64 (π)
        ]
        var fuzzer = MutationFuzzer(seeds: seeds)
        var accepted = 0
        try fuzzer.run(iterations: MutationFuzzer.iterations(default: 3000)) { input in
            let bytes = [UInt8](input)
            guard let tensor = try? IDXReader.parse(bytes, path: "fuzz.idx") else { return }
            accepted += 1
            let rank = Int(bytes[3]), sizes: [UInt8: Int] = [0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8]
            let shape = (0..<rank).map { axis in Int(bytes[(4 + 4 * axis)..<(8 + 4 * axis)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }) }
            let size = try #require(sizes[bytes[2]], "accepted unknown type code \(bytes[2])")
            #expect(bytes[0] == 0 && bytes[1] == 0 && tensor.shape == shape)
            #expect(tensor.count == shape.reduce(1, *) && 4 + 4 * rank + tensor.count * size == bytes.count, "shape \(shape), \(bytes.count) bytes")
            let data = Array(bytes[(4 + 4 * rank)...])
            for index in [0, tensor.count / 2, tensor.count - 1] where tensor.count > 0 {
                let element = data[(index * size)..<((index + 1) * size)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                let expected: Float = switch bytes[2] {
                case 0x08: Float(element)
                case 0x09: Float(Int8(truncatingIfNeeded: element))
                case 0x0B: Float(Int16(truncatingIfNeeded: element))
                case 0x0C: Float(Int32(truncatingIfNeeded: element))
                case 0x0D: Float(bitPattern: UInt32(element))
                default: Float(Double(bitPattern: element))
                }
                #expect(tensor.scalars[index].bitPattern == expected.bitPattern, "element \(index) of shape \(shape)")
            }
            let again = try IDXReader.parse(Array(file(0x0D, shape.map(UInt32.init), tensor.scalars.flatMap { bigEndian($0.bitPattern) })), path: "again.idx")
            #expect(again.shape == tensor.shape && again.scalars.map(\.bitPattern) == tensor.scalars.map(\.bitPattern))
        }
        #expect(accepted > seeds.count)
    }

    /// What the safetensors reader accepts is what the file says: every tensor named in
    /// the header with its shape, as many values as the shape holds, each the little-endian
    /// F32 at its data offsets; written again (with the metadata, and a shard file's
    /// placements) it reads back bit for bit.
    @Test func safetensorsReader() throws {
        let parameters = ParameterStore()
        var generator = RandomGenerator(seed: 1)
        _ = try Sequential([.dense(units: 3), .batchNorm()], inputShape: [2], parameters: parameters, generator: &generator)
        let model = try SafeTensors.encode(parameters, metadata: ["format": "pt"])
        let optimizer = try SafeTensors.encode(buffers: ["m": [1, 2, 3], "v": [4, 5, 6]])
        let shard = try ShardedState.encode(layout: [("w", [2, 1]), ("b", [1])], values: [1, -2, .nan],
                                            placements: ["w": .slice(of: [4, 1], axis: 0, start: 2, length: 2)])
        let seeds = [model, optimizer, shard]
        var fuzzer = MutationFuzzer(seeds: seeds)
        var accepted = 0
        func bits(_ tensors: [String: Tensor]) -> [String: [UInt32]] { tensors.mapValues { $0.scalars.map(\.bitPattern) } }
        try fuzzer.run(iterations: MutationFuzzer.iterations(default: 3000)) { input in
            if let (tensors, metadata) = try? SafeTensors.decodeWithMetadata(input, path: "fuzz.safetensors") {
                accepted += 1
                let length = Int(input.prefix(8).reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
                let header = try #require(try JSONSerialization.jsonObject(with: input.subdata(in: 8..<(8 + length))) as? [String: Any])
                #expect(Set(tensors.keys) == Set(header.keys).subtracting(["__metadata__"]))
                for (name, tensor) in tensors {
                    let entry = try #require(header[name] as? [String: Any]), offsets = try #require(entry["data_offsets"] as? [Int])
                    #expect(entry["shape"] as? [Int] == tensor.shape && tensor.count == tensor.shape.reduce(1, *))
                    let values = stride(from: 8 + length + offsets[0], to: 8 + length + offsets[1], by: 4).map { at in
                        input[at..<(at + 4)].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                    }
                    #expect(values == tensor.scalars.map(\.bitPattern), "tensor \(name)")
                }
                let names = tensors.keys.sorted()
                let again = try SafeTensorsFile.values(names.flatMap { tensors[$0]!.scalars },
                                                       layout: names.map { ($0, tensors[$0]!.shape) }, metadata: metadata).encoded()
                let reread = try SafeTensors.decodeWithMetadata(again, path: "again.safetensors")
                #expect(bits(reread.tensors) == bits(tensors) && reread.tensors.mapValues(\.shape) == tensors.mapValues(\.shape))
                #expect(reread.metadata == metadata)
            }
            if let (tensors, placements) = try? ShardedState.decode(input, path: "fuzz.safetensors") {
                let names = tensors.keys.sorted()
                let again = try ShardedState.encode(layout: names.map { ($0, tensors[$0]!.shape) }, values: names.flatMap { tensors[$0]!.scalars },
                                                    placements: placements)
                let reread = try ShardedState.decode(again, path: "again.safetensors")
                #expect(bits(reread.tensors) == bits(tensors))
                let placed = placements.filter { tensors[$0.key] != nil }
                #expect(reread.placements.filter { placed[$0.key] != nil } == placed)
            }
        }
        #expect(accepted > seeds.count)
    }

    /// A real checkpoint whose `state.json` is mutated and resealed (so the manifest lets it
    /// through), then loaded and resumed from: every value must be checked, not trusted.
    @Test func checkpointLoader() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = try LibraryTrainerTests.data()
        let trainer = try LibraryTrainerTests.trainer(data, epochs: 1)
        trainer.checkpointFolder = folder.url
        _ = try trainer.fit()
        let checkpoint = folder.url.appendingPathComponent("last").resolvingSymlinksInPath()
        let stateURL = checkpoint.appendingPathComponent("state.json")
        let original = try Data(contentsOf: stateURL)
        let fresh = try LibraryTrainerTests.trainer(data, epochs: 2)
        var fuzzer = MutationFuzzer(seeds: [original])
        var resumed = 0
        try fuzzer.run(iterations: MutationFuzzer.iterations(default: 300)) { input in
            try input.write(to: stateURL)
            try CheckpointManifest.reseal(checkpoint)
            guard let loaded = try? Checkpoint.load(checkpoint) else { return }
            if (try? fresh.resume(from: loaded)) != nil { resumed += 1 }
        }
        #expect(resumed >= 1)
    }
}
