import Foundation
import FlockTestSupport
import Testing
@testable import FlockBench

@Suite struct BenchmarkHistoryTests {
    @Test func recordedResultsComeBackInOrderWithTheirHeadline() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let store = folder.url.appendingPathComponent("bench.sqlite").path
        let machine: [String: Any] = ["cpu": "AMD EPYC", "flock_version": "0123456789ab"]
        try BenchmarkHistory.record(["ratio": 0.91, "ratio_min": 0.9, "ratio_max": 0.95, "machine": machine], name: "train_mlp", storePath: store)
        try BenchmarkHistory.recordSuite(["machine": machine, "benchmarks": ["ddp": ["efficiency": 0.88, "efficiency_min": 0.8, "efficiency_max": 0.93]]],
                                         storePath: store)
        let lines = try BenchmarkHistory.lines(storePath: store, name: nil)
        #expect(lines.count == 2)
        #expect(lines[0].contains("train_mlp") && lines[0].contains("0123456789ab") && lines[0].contains("ratio 0.910 (0.900–0.950)"), "\(lines)")
        #expect(lines[1].contains("ddp") && lines[1].contains("efficiency 0.880 (0.800–0.930)"), "\(lines)")
        #expect(try BenchmarkHistory.lines(storePath: store, name: "ddp").count == 1)
        let outcome = try ChildProcess.flock(["bench", "history", "--store", store, "--name", "train_mlp"])
        #expect(outcome.status == 0 && outcome.standardOutput.contains("ratio 0.910"), "\(outcome.standardError)")
        let missing = try ChildProcess.flock(["bench", "history", "--store", folder.url.appendingPathComponent("none.sqlite").path])
        #expect(missing.status != 0 && missing.standardError.contains("none.sqlite: no such store"))
    }
}
