import Foundation
import FlockTestSupport
import Testing
@testable import FlockBench

@Suite struct BenchmarkComparisonTests {
    static func result(ratio: Double, low: Double, high: Double, samples: Double, commit: String = "abc") -> [String: Any] {
        ["machine": ["cpu": "AMD EPYC", "cores": 2, "blas_kernel": "Haswell", "mpi": "Open MPI", "flock_version": commit],
         "benchmarks": ["train_mlp": ["ratio": ratio, "ratio_min": low, "ratio_max": high, "ratio_pairs": [low, ratio, high],
                                      "samples_per_second": samples]]]
    }

    @Test func aChangeIsFlaggedOnlyWhenTheSpreadsDoNotOverlap() {
        let before = Self.result(ratio: 0.90, low: 0.88, high: 0.93, samples: 30_000)
        let within = BenchmarkComparison(before, Self.result(ratio: 0.92, low: 0.90, high: 0.95, samples: 31_000))
        #expect(within.rows.map(\.name) == ["train_mlp.ratio", "train_mlp.samples_per_second"])
        #expect(within.rows.allSatisfy { !$0.significant })
        #expect(abs(within.rows[1].change - 1_000.0 / 30_000) < 1e-12)
        let beyond = BenchmarkComparison(before, Self.result(ratio: 0.70, low: 0.68, high: 0.72, samples: 20_000, commit: "def"))
        #expect(beyond.rows[0].significant)
        #expect(beyond.machineDifferences == ["flock_version: abc → def"])
        #expect(beyond.table.contains("* beyond both spreads") && beyond.table.contains("different machines or builds"))
    }

    @Test func theCommandNamesAFileThatIsNotAResult() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let good = try folder.write("a.json", String(decoding: try JSONSerialization.data(withJSONObject: Self.result(ratio: 0.9, low: 0.8, high: 1, samples: 1)), as: UTF8.self))
        let bad = try folder.write("b.json", "{\"ratio\": 1}")
        let outcome = try ChildProcess.flock(["bench", "compare", good.path, bad.path])
        #expect(outcome.status != 0 && outcome.standardError.contains("b.json: not a `flock bench all` result"), "\(outcome.standardError)")
        let same = try ChildProcess.flock(["bench", "compare", good.path, good.path])
        #expect(same.status == 0 && same.standardOutput.contains("train_mlp.ratio"), "\(same.standardError)")
    }
}
