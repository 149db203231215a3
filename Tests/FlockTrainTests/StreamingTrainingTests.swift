import FlockData
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// `data.streaming: true`: the same splits and preprocessing as in memory, and a file
/// several times larger than the process may hold trains to the end.
@Suite(.serialized) struct StreamingTrainingTests {
    static func digits(streaming: Bool) -> String {
        """
        seed: 5
        epochs: 4
        data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 32, streaming: \(streaming), chunk_rows: 256}
        model:
          - {type: dense, units: 32, activation: relu}
          - {type: dense, units: 10}
        optimizer: {name: adam, lr: 0.005}
        """
    }

    @Test func streamingSplitsAndPreprocessesAsInMemory() throws {
        let inMemory = try TrainingData(config: ConfigLoader.decode(yaml: Self.digits(streaming: false), baseDirectory: "/"))
        let streamed = try TrainingData(config: ConfigLoader.decode(yaml: Self.digits(streaming: true), baseDirectory: "/"))
        #expect(streamed.training is StreamedDataset && inMemory.training is Dataset)
        #expect(streamed.training.count == inMemory.training.count && streamed.validation.count == inMemory.validation.count)
        #expect(streamed.preprocessing.featureColumns == inMemory.preprocessing.featureColumns)
        #expect(streamed.classCount == 10 && streamed.shuffleWindow == 256)
        let (fitted, expected) = (streamed.preprocessing.normalizer, inMemory.preprocessing.normalizer)
        #expect(zip(fitted.offset + fitted.scale, expected.offset + expected.scale).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) })
        // Validation position p of the streamed split is file row rows[p]; find that row in memory.
        let rows = try #require(streamed.validation as? StreamedDataset).rows
        let memoryOrder = Dataset.splitIndices(count: 1797, validationFraction: 0.2, seed: 5).validation
        #expect(Set(rows) == Set(memoryOrder))
        let positions = [0, 7, 100, rows.count - 1]
        let batch = try streamed.validation.batch(positions)
        let expectedBatch = try inMemory.validation.batch(positions.map { memoryOrder.firstIndex(of: rows[$0])! })
        #expect(batch.targets == expectedBatch.targets)
        #expect(zip(batch.features.scalars, expectedBatch.features.scalars).allSatisfy { abs($0 - $1) < 1e-4 })
    }

    @Test func aStreamedRunTrainsAndItsModelPredicts() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try folder.write("streamed.yaml", Self.digits(streaming: true))
        let run = folder.url.appendingPathComponent("run")
        let trained = try ChildProcess.flock(["train", config.path, "--run-dir", run.path])
        #expect(trained.status == 0, "\(trained.output)")
        let summary = try RunResults(directory: run).summary()
        #expect(summary.final["val_accuracy"]! >= 0.9, "\(summary.final)")
        let predicted = try ChildProcess.flock(["predict", run.path, "--data", ChildProcess.digitsCSV])
        #expect(predicted.status == 0 && predicted.output.contains("accuracy"), "\(predicted.output)")
    }

    /// 256 MiB of float32 features under an 80 MiB cgroup limit: streamed, the run ends
    /// with a trained model; in memory, the kernel kills it while it loads the file.
    @Test func aFileThreeTimesTheMemoryLimitTrainsOnlyWhenStreamed() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        try Self.writeSeparableIDX(rows: 262_144, width: 256, in: folder)
        let limit = try MemoryLimit(bytes: 80 << 20)
        defer { limit.remove() }
        var outcomes: [Bool: ChildProcess.Outcome] = [:]
        for streaming in [true, false] {
            let config = try folder.write("large-\(streaming).yaml", """
                seed: 1
                epochs: 1
                data: {source: images.idx, labels: labels.idx, batch_size: 256, streaming: \(streaming), chunk_rows: 1024, validation_split: 0.1}
                model:
                  - {type: dense, units: 8, activation: relu}
                  - {type: dense, units: 2}
                optimizer: {name: adam, lr: 0.01}
                """)
            outcomes[streaming] = try limit.run(ChildProcess.flockExecutable,
                                                ["train", config.path, "--run-dir", folder.url.appendingPathComponent("run-\(streaming)").path],
                                                timeout: 300, directory: folder.url)
        }
        let streamed = try #require(outcomes[true]), loaded = try #require(outcomes[false])
        #expect(streamed.status == 0 && streamed.output.contains("done: 1 epochs"), "\(streamed.output)")
        let summary = try RunResults(directory: folder.url.appendingPathComponent("run-true")).summary()
        #expect(summary.final["val_accuracy"]! >= 0.9, "\(summary.final)")
        #expect(loaded.status == SIGKILL, "in memory, the limit should have stopped it: \(loaded.status) \(loaded.output)")
    }

    /// `rows` samples of `width` float32 features: features 0…3 carry 2·label plus noise,
    /// the rest is noise (64 noise rows repeated, so writing is fast).
    static func writeSeparableIDX(rows: Int, width: Int, in folder: TemporaryFolder) throws {
        var generator = RandomGenerator(seed: 11)
        let noise = (0..<(64 * width)).map { _ in generator.nextNormal().bitPattern.bigEndian }
        let labels = (0..<rows).map { _ in UInt8(generator.next() % 2) }
        var header: [UInt8] = [0, 0, 0x0D, 2]
        for dimension in [rows, width] { header += withUnsafeBytes(of: UInt32(dimension).bigEndian, Array.init) }
        FileManager.default.createFile(atPath: folder.url.appendingPathComponent("images.idx").path, contents: Data(header))
        let images = try FileHandle(forWritingTo: folder.url.appendingPathComponent("images.idx"))
        defer { try? images.close() }
        try images.seekToEnd()
        var chunk = [UInt32](repeating: 0, count: 4096 * width)
        for start in stride(from: 0, to: rows, by: 4096) {
            let count = min(4096, rows - start)
            for row in 0..<count {
                let sample = start + row, source = (sample % 64) * width
                chunk.withUnsafeMutableBufferPointer { target in
                    noise.withUnsafeBufferPointer { (target.baseAddress! + row * width).update(from: $0.baseAddress! + source, count: width) }
                }
                for feature in 0..<4 {
                    let value = Float(bitPattern: UInt32(bigEndian: noise[source + feature])) + 2 * Float(labels[sample])
                    chunk[row * width + feature] = value.bitPattern.bigEndian
                }
            }
            try images.write(contentsOf: chunk[..<(count * width)].withUnsafeBytes { Data($0) })
        }
        var labelFile: [UInt8] = [0, 0, 0x08, 1] + withUnsafeBytes(of: UInt32(rows).bigEndian, Array.init)
        labelFile += labels
        try Data(labelFile).write(to: folder.url.appendingPathComponent("labels.idx"))
    }
}
