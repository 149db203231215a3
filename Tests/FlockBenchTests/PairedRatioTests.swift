import FlockTensor
import Foundation
import FlockTestSupport
import Testing
@testable import FlockBench

@Suite struct PairedRatioTests {
    @Test func theMedianAndSpreadComeFromInterleavedPairs() {
        var calls: [String] = []
        var baselines = [10.0, 20, 10, 10, 40].makeIterator(), candidates = [9.0, 18, 12, 8, 40].makeIterator()
        let ratio = PairedRatio.measure(pairs: 5, baseline: { calls.append("b"); return baselines.next()! },
                                        candidate: { calls.append("c"); return candidates.next()! })
        #expect(calls == ["b", "c", "b", "c", "b", "c", "b", "c", "b", "c"])
        #expect(ratio.ratios == [0.9, 0.9, 1.2, 0.8, 1.0])
        #expect(ratio.median == 0.9 && ratio.minimum == 0.8 && ratio.maximum == 1.2)
        #expect(ratio.interquartile.low == 0.9 && ratio.interquartile.high == 1.0)
    }

    @Test func benchTrainReportsTheMedianRatioItsSpreadAndTheMachine() throws {
        let outcome = try ChildProcess.flock(["bench", "train", "--repeat", "3", "--json"], timeout: 300)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let last = outcome.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any]
        let ratio = object["ratio"] as! Double, pairs = object["ratio_pairs"] as! [Double]
        #expect(pairs.count == 3 && pairs.sorted()[1] == ratio)
        #expect((object["ratio_min"] as! Double) <= ratio && ratio <= (object["ratio_max"] as! Double))
        let machine = object["machine"] as! [String: Any]
        #expect((machine["cores"] as? Int ?? 0) >= 1 && machine["blas_kernel"] is String && machine["load_before"] is Double)
        // Built from this checkout: its commit.
        #expect((machine["flock_version"] as? String)?.count == 12, "\(machine)")
    }

    /// `--against-float32`: one bf16 ÷ Float32 ratio per interleaved pair of runs, the
    /// median among them; refused without bf16.
    @Test(.enabled(if: OneDNN.hasNativeBF16, "needs AVX512-BF16 or AMX"))
    func benchTrainPairsTheBF16StepWithTheFloat32One() throws {
        let outcome = try ChildProcess.flock(["bench", "train", "--precision", "bf16", "--against-float32", "--repeat", "3", "--json"], timeout: 300)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.contains("bf16 ÷ float32: "))
        let last = outcome.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any]
        let pairs = object["bf16_over_float32_pairs"] as! [Double]
        #expect(pairs.count == 3 && pairs.sorted()[1] == object["bf16_over_float32"] as! Double)
        #expect(pairs.allSatisfy { $0 > 0 && $0.isFinite })
        let refused = try ChildProcess.flock(["bench", "train", "--against-float32"], timeout: 60)
        #expect(refused.status != 0 && refused.standardError.contains("--against-float32: needs --precision bf16"))
    }

    @Test func benchSamplerGPOnlyPrintsEachSeedsRegretAndTheirMedian() throws {
        let outcome = try ChildProcess.flock(["bench", "sampler", "--gp-only", "branin", "--seeds", "3", "--first-seed", "4",
                                              "--trials", "12"], timeout: 300)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let lines = outcome.standardOutput.split(separator: "\n").map(String.init)
        let seeds = lines.filter { $0.hasPrefix("seed ") }.map { $0.split(separator: " ").filter { !$0.isEmpty } }
        #expect(seeds.map { $0[1] } == ["4", "5", "6"], "\(lines)")
        let regrets = seeds.compactMap { Double($0[2]) }.sorted()
        #expect(regrets.count == 3 && regrets.allSatisfy { $0 >= 0 })
        #expect(lines.last?.hasPrefix(String(format: "branin gp median regret %.3g over 3 seeds", regrets[1])) == true, "\(lines)")

        let wrong = try ChildProcess.flock(["bench", "sampler", "--gp-only", "rosenbrock"], timeout: 60)
        #expect(wrong.status != 0 && wrong.standardError.contains("--gp-only"), "\(wrong.standardError)")
    }

    @Test func benchSamplerPairsTPEWithRandomSearchSeedBySeed() throws {
        let outcome = try ChildProcess.flock(["bench", "sampler", "--seeds", "3", "--json"], timeout: 300)
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let last = outcome.standardOutput.split(separator: "\n").last.map(String.init) ?? ""
        let object = try JSONSerialization.jsonObject(with: Data(last.utf8)) as! [String: Any]
        let branin = object["branin"] as! [String: Any]
        let pairs = branin["improvement_pairs"] as! [Double]
        #expect(pairs.count == 3 && pairs.sorted()[1] == branin["improvement"] as! Double)
        #expect((object["ms_per_trial_min"] as! Double) <= (object["ms_per_trial"] as! Double)
                && (object["ms_per_trial"] as! Double) <= (object["ms_per_trial_max"] as! Double))
        #expect(object["machine"] is [String: Any])
    }
}
