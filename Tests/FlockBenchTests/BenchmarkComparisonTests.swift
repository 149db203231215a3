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

    /// One benchmark's result as `flock bench train --json` prints it (named).
    static func single(ratio: Double, samples: Double, name: String? = "train_mlp", commit: String = "abc") -> [String: Any] {
        var result = (Self.result(ratio: ratio, low: ratio - 0.02, high: ratio + 0.02, samples: samples, commit: commit)["benchmarks"]
            as! [String: Any])["train_mlp"] as! [String: Any]
        result["machine"] = Self.result(ratio: 0, low: 0, high: 0, samples: 0, commit: commit)["machine"]
        result["benchmark"] = name
        return result
    }

    @Test func twoResultsOfOneBenchmarkCompareAsTwoSuitesDo() throws {
        let before = Self.single(ratio: 0.90, samples: 30_000), after = Self.single(ratio: 0.70, samples: 20_000, commit: "def")
        let comparison = try BenchmarkComparison(files: ("a.json", before), ("b.json", after))
        #expect(comparison.rows.map(\.name) == ["train_mlp.ratio", "train_mlp.samples_per_second"])
        #expect(comparison.rows[0].significant && comparison.machineDifferences == ["flock_version: abc → def"])
        // A saved line against its benchmark's entry in a `flock bench all` result.
        let suite = Self.result(ratio: 0.90, low: 0.88, high: 0.92, samples: 30_000)
        let mixed = try BenchmarkComparison(files: ("all.json", suite), ("b.json", after))
        #expect(mixed.rows.map(\.name) == comparison.rows.map(\.name) && mixed.rows.map(\.after) == comparison.rows.map(\.after))
        // Lines written before results carried their name compare when their figures agree.
        let unnamed = try BenchmarkComparison(files: ("a.json", Self.single(ratio: 0.9, samples: 1, name: nil)),
                                              ("b.json", Self.single(ratio: 0.8, samples: 1, name: nil)))
        #expect(unnamed.rows.map(\.name) == ["result.ratio", "result.samples_per_second"])
    }

    @Test func resultsOfDifferentBenchmarksAreRefusedNamingBoth() {
        let ddp: [String: Any] = ["benchmark": "ddp", "samples_per_second": 1000.0, "efficiency": 0.9]
        let named = #expect(throws: BenchmarkComparison.InputError.self) {
            try BenchmarkComparison(files: ("a.json", Self.single(ratio: 0.9, samples: 1)), ("b.json", ddp))
        }
        #expect(named?.description == "a.json is a train_mlp result and b.json a ddp result: compare two results of the same benchmark")
        let unnamed = #expect(throws: BenchmarkComparison.InputError.self) {
            try BenchmarkComparison(files: ("a.json", Self.single(ratio: 0.9, samples: 1, name: nil)), ("b.json", ddp.filter { $0.key != "benchmark" }))
        }
        #expect(unnamed?.description.hasPrefix("a.json and b.json do not have the same figures (only in the first: ratio, ratio_max") == true)
        let missing = #expect(throws: BenchmarkComparison.InputError.self) {
            try BenchmarkComparison(files: ("all.json", Self.result(ratio: 0.9, low: 0.8, high: 1, samples: 1)), ("b.json", ddp))
        }
        #expect(missing?.description == "all.json holds no ddp result (it holds: train_mlp), so b.json has nothing to compare with")
    }

    /// The user's way: two `flock bench train --json` runs saved with `>`, then compared.
    @Test func theCommandComparesTwoSavedJSONLines() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        var saved: [URL] = []
        for name in ["a.txt", "b.txt"] {
            let run = try ChildProcess.flock(["bench", "train", "--repeat", "1", "--json"])
            #expect(run.status == 0, "\(run.standardError)")
            saved.append(try folder.write(name, run.standardOutput))
        }
        let outcome = try ChildProcess.flock(["bench", "compare", saved[0].path, saved[1].path])
        #expect(outcome.status == 0 && outcome.standardOutput.contains("train_mlp.ratio"), "\(outcome.standardError)")
    }

    @Test func theCommandNamesAFileThatIsNotAResult() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let good = try folder.write("a.json", String(decoding: try JSONSerialization.data(withJSONObject: Self.result(ratio: 0.9, low: 0.8, high: 1, samples: 1)), as: UTF8.self))
        let bad = try folder.write("b.json", "{\"name\": \"x\"}")
        let outcome = try ChildProcess.flock(["bench", "compare", good.path, bad.path])
        #expect(outcome.status != 0 && outcome.standardError.contains("b.json: not a benchmark result"), "\(outcome.standardError)")
        let same = try ChildProcess.flock(["bench", "compare", good.path, good.path])
        #expect(same.status == 0 && same.standardOutput.contains("train_mlp.ratio"), "\(same.standardError)")
    }
}
