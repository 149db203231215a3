import Foundation
import FlockTestSupport
import Testing

/// `flock bench memory`: real `flock train` jobs under `mpirun -np 2`, each rank's peak
/// resident memory from `summary.json`, models grown until one no longer fits the budget.
@Suite struct MemoryBenchmarkTests {
    static func report(_ arguments: [String]) throws -> [String: Any] {
        let outcome = try ChildProcess.flock(["bench", "memory", "--ranks", "2", "--width", "512", "--batch-size", "16", "--json"] + arguments,
                                             timeout: 600)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let last = outcome.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
        return try #require(try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any], "\(outcome.standardOutput)")
    }

    @Test func eachRankPeakIsMeasuredAndModelsGrowUntilOneDoesNotFit() throws {
        let roomy = try Self.report(["--budget-mb", "2000", "--first-depth", "2", "--max-depth", "4", "--settings", "0,3r"])
        let trials = try #require(roomy["trials"] as? [[String: Any]])
        #expect(trials.map { "\($0["zero"]!)\($0["recompute"] as? Bool == true ? "r" : "")-\($0["depth"]!)" } == ["0-2", "0-4", "3r-2", "3r-4"])
        for trial in trials {
            let peaks = try #require(trial["peak_bytes"] as? [Int])
            // Two ranks, each a process holding at least the 2-block model's weights.
            #expect(peaks.count == 2 && peaks.allSatisfy { $0 > 10_000_000 && $0 < 2_000_000_000 }, "\(trial)")
            #expect(trial["fits"] as? Bool == true && (trial["samples_per_second"] as? Double ?? 0) > 0)
        }
        // 4 blocks of 512 hold 1.05M more parameters than 2 (16.8 MB more Adam state at zero 0).
        let zeroPeaks = trials.prefix(2).map { ($0["peak_bytes"] as! [Int]).max()! }
        #expect(zeroPeaks[1] > zeroPeaks[0] + 8_000_000, "\(zeroPeaks)")
        #expect((roomy["largest"] as? [[String: Any]])?.map { $0["parameters"] as? Int } == [2_102_274, 2_102_274])

        // A budget no process meets: the first model does not fit and the setting stops there.
        let tight = try Self.report(["--budget-mb", "5", "--first-depth", "2", "--settings", "3"])
        let only = try #require((tight["trials"] as? [[String: Any]])?.first)
        #expect((tight["trials"] as? [Any])?.count == 1 && only["fits"] as? Bool == false)
        #expect((only["failure"] as? String)?.contains("over the budget of 5 MB") == true, "\(only)")
        #expect((tight["largest"] as? [[String: Any]])?.first?["parameters"] is NSNull)
    }
}
