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
@Suite(.timeLimit(.minutes(5))) struct FuzzTests {
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

    @Test func idxReader() {
        // A 2×3 float32 tensor and 2 unsigned-byte labels, big-endian headers.
        let floats: [UInt8] = [0, 0, 0x0D, 2, 0, 0, 0, 2, 0, 0, 0, 3] + (0..<6).flatMap { i -> [UInt8] in
            let bits = Float(i).bitPattern
            return [UInt8(bits >> 24), UInt8((bits >> 16) & 0xFF), UInt8((bits >> 8) & 0xFF), UInt8(bits & 0xFF)]
        }
        let bytes: [UInt8] = [0, 0, 0x08, 1, 0, 0, 0, 2, 7, 9]
        var fuzzer = MutationFuzzer(seeds: [Data(floats), Data(bytes)])
        fuzzer.run(iterations: MutationFuzzer.iterations(default: 3000)) { input in
            _ = try? IDXReader.parse([UInt8](input), path: "fuzz.idx")
        }
    }

    @Test func safetensorsReader() throws {
        let parameters = ParameterStore()
        var generator = RandomGenerator(seed: 1)
        _ = try Sequential([.dense(units: 3), .batchNorm()], inputShape: [2], parameters: parameters, generator: &generator)
        let model = try SafeTensors.encode(parameters, metadata: ["format": "pt"])
        let optimizer = try SafeTensors.encode(buffers: ["m": [1, 2, 3], "v": [4, 5, 6]])
        var fuzzer = MutationFuzzer(seeds: [model, optimizer])
        fuzzer.run(iterations: MutationFuzzer.iterations(default: 3000)) { input in
            _ = try? SafeTensors.decodeWithMetadata(input, path: "fuzz.safetensors")
            _ = try? ShardedState.decode(input, path: "fuzz.safetensors")
        }
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
