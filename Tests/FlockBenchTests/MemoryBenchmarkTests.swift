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

        // Eight steps by default, each timed (the trainer's epochs of one batch), the first two left out.
        #expect(roomy["batches"] as? Int == 8 && roomy["warm_up_batches"] as? Int == 2)
        for trial in trials { try Self.expectStepTime(trial, steps: 8, warmUp: 2) }
    }

    @Test func stepTimeFollowsBatchesAndLeavesOutTheWarmUp() throws {
        let report = try Self.report(["--budget-mb", "2000", "--first-depth", "2", "--max-depth", "2", "--settings", "0,2",
                                      "--batches", "5", "--warm-up-batches", "2"])
        #expect(report["batches"] as? Int == 5 && report["warm_up_batches"] as? Int == 2)
        let trials = try #require(report["trials"] as? [[String: Any]])
        #expect(trials.count == 2)
        for trial in trials { try Self.expectStepTime(trial, steps: 5, warmUp: 2) }
    }

    @Test func aWarmUpThatLeavesNoStepIsRefused() throws {
        let outcome = try ChildProcess.flock(["bench", "memory", "--batches", "2", "--warm-up-batches", "2"], timeout: 60)
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("--batches and --warm-up-batches"), "\(outcome.standardError)")
    }

    /// `steps_seconds` holds one time per step run; `step_seconds` is the median of those after
    /// the warm-up and `_min`/`_max` their extremes.
    static func expectStepTime(_ trial: [String: Any], steps: Int, warmUp: Int) throws {
        let each = try #require(trial["steps_seconds"] as? [Double], "\(trial)")
        #expect(each.count == steps && each.allSatisfy { $0 > 0 }, "\(trial)")
        let steady = each.dropFirst(warmUp).sorted()
        let median = steady.count % 2 == 1 ? steady[steady.count / 2] : (steady[steady.count / 2 - 1] + steady[steady.count / 2]) / 2
        // The steps come back through JSON's decimal digits, so their median may differ from
        // the one printed (taken before the round trip) in the last bit.
        let printed = try #require(trial["step_seconds"] as? Double, "\(trial)")
        #expect(abs(printed - median) <= 1e-9 * median, "\(trial)")
        #expect(trial["step_seconds_min"] as? Double == steady.first && trial["step_seconds_max"] as? Double == steady.last, "\(trial)")
    }
}
