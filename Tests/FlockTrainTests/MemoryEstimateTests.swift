import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// `flock train` prints each rank's memory estimate at start-up and refuses, before
/// allocating the model, a job whose training state cannot fit in what a rank may use.
@Suite(.serialized) struct MemoryEstimateTests {
    static func wideConfig(in folder: TemporaryFolder) throws -> URL {
        try folder.write("wide.yaml", """
            seed: 1
            epochs: 1
            data: {source: \(ChildProcess.digitsCSV), label_column: label, validation_split: 0.9, batch_size: 64}
            model:
              - {type: dense, units: 2048, activation: relu}
              - {type: dense, units: 2048, activation: relu}
              - {type: dense, units: 2048, activation: relu}
              - {type: dense, units: 10}
            optimizer: {name: adam, lr: 0.001}
            """)
    }

    /// 8.5M parameters with Adam are 137 MB of state: under a 150 MB limit (state plus
    /// the 64 MB of runtime do not fit) the job is refused with an error naming the sizes,
    /// and leaves no run directory.
    @Test func aJobWhoseStateCannotFitIsRefusedBeforeItAllocates() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let limit = try MemoryLimit(bytes: 150 << 20)
        defer { limit.remove() }
        let run = folder.url.appendingPathComponent("run")
        let refused = try limit.run(ChildProcess.flockExecutable, ["train", try Self.wideConfig(in: folder).path, "--run-dir", run.path],
                                    timeout: 120, directory: folder.url)
        #expect(refused.status == 1, "\(refused.status) \(refused.output)")
        #expect(refused.output.contains("parallel: this rank would hold 137 MB of training state (8.5M parameters × 16 bytes"), "\(refused.output)")
        #expect(refused.output.contains("157 MB"), "the limit, in MB: \(refused.output)")
        #expect(!FileManager.default.fileExists(atPath: run.path))
    }

    @Test func theEstimateIsPrintedAtStartUp() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try folder.write("small.yaml", """
            seed: 1
            epochs: 1
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 32}
            model:
              - {type: dense, units: 100, activation: relu}
              - {type: dense, units: 10}
            optimizer: {name: sgd, lr: 0.01, momentum: 0.9}
            """)
        let trained = try ChildProcess.flock(["train", config.path, "--run-dir", folder.url.appendingPathComponent("run").path])
        #expect(trained.status == 0, "\(trained.output)")
        // 64·100 + 100 + 100·10 + 10 = 7,510 parameters × (4 + 4 + 4 momentum) bytes.
        #expect(trained.output.contains("memory per rank: ~") && trained.output.contains("state 0 MB (7.5k parameters × 12 B)"), "\(trained.output)")
    }
}
