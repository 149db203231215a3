import Foundation
import FlockTestSupport
import Testing
@testable import FlockBench

/// `flock bench pipeline`: its report's shape and the memory bounds the schedules promise.
@Suite struct PipelineBenchmarkTests {
    @Test func theReportHoldsEveryScheduleAndTheActivationBounds() throws {
        let outcome = try ChildProcess.flock(["bench", "pipeline", "--ranks", "2", "--width", "16", "--micro-batch-rows", "4", "--json"],
                                             timeout: 300)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let last = outcome.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
        let report = try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any]
        #expect(report["stages"] as? Int == 2)
        let results = report["results"] as! [[String: Any]]
        func result(_ schedule: String, _ m: Int) -> [String: Any] {
            results.first { $0["schedule"] as? String == schedule && $0["micro_batches"] as? Int == m }!
        }
        #expect(results.count == 12)
        for m in [1, 4, 8, 16] {
            // Theory (S−1)/(M+S−1) for GPipe and 1F1B.
            #expect(abs((result("gpipe", m)["bubble_theory"] as! Double) - 1 / Double(m + 1)) < 1e-12)
            #expect(abs((result("1f1b", m)["bubble_theory"] as! Double) - 1 / Double(m + 1)) < 1e-12)
            #expect((result("zb-h1", m)["versus_data_parallel_pairs"] as! [Double]).count == 20)
        }
        let microBatch = result("1f1b", 16)["micro_batch_activation_bytes"] as! Int
        // 1F1B holds at most S = 2 micro-batches whatever M; GPipe holds all M.
        for m in [4, 8, 16] { #expect((result("1f1b", m)["peak_activation_bytes"] as! Int) <= 2 * microBatch, "M = \(m)") }
        #expect((result("gpipe", 16)["peak_activation_bytes"] as! Int) >= 15 * microBatch)
    }
}
