import FlockTestSupport
import Testing
@testable import FlockSweep

/// Sweep-file numbers are range-checked with the field and the range named, and a grid
/// too large to enumerate is refused up front with its size.
@Suite struct SweepRangeTests {
    func message(_ extra: String, space: String = "  - {name: optimizer.lr, type: float, low: 0.001, high: 0.1}",
                 budget: String = "budget: {trials: 3}") -> String {
        do {
            _ = try SweepConfig.parse("""
                study: s
                base_config: {data: {source: \(ChildProcess.digitsCSV), label_column: label}, model: [{type: dense, units: 10}]}
                space:
                \(space)
                \(budget)
                \(extra)
                """, baseDirectory: "/")
            return "no error"
        } catch { return "\(error)" }
    }

    @Test func prunerSettingsThatWereSilentlyAcceptedAreErrors() {
        #expect(message("pruner: {name: median, startup_trials: -1}") == "pruner.startup_trials: expected an integer in 0...1000000, got -1")
        #expect(message("pruner: {name: hyperband, max_resource: 0}") == "pruner.max_resource: expected an integer in 1...1000000, got 0")
        #expect(message("pruner: {name: hyperband, max_resource: 9223372036854775807, reduction_factor: 2}")
                == "pruner.max_resource: expected an integer in 1...1000000, got 9223372036854775807")
    }

    @Test func seedsAndIntRangesThatWouldTrapAreErrors() {
        #expect(message("seed: -1") == "seed: expected an integer ≥ 0, got -1")
        #expect(message("sampler: {name: random}", space: "  - {name: seed, type: int, low: 0, high: 9223372036854775807}")
                == "space[0].high: expected an integer in -9007199254740992...9007199254740992, got 9223372036854775807")
        #expect(message("", space: "  - {name: optimizer.lr, type: float, low: 0.001, high: .inf}")
                == "space[0].high: expected a finite number, got inf")
    }

    @Test func budgetsAndWorkersAreBounded() {
        #expect(message("", budget: "budget: {wall_seconds: .nan}") == "budget.wall_seconds: expected a number in (0, 31536000.0], got nan")
        #expect(message("", budget: "budget: {trials: 9223372036854775807}")
                == "budget.trials: expected an integer in 1...1000000, got 9223372036854775807")
        #expect(message("workers: 9223372036854775807") == "workers: expected an integer in 1...1024, got 9223372036854775807")
        #expect(message("heartbeat_timeout: .inf") == "heartbeat_timeout: expected a number in (0, 864000.0], got inf")
    }

    /// Found by the sweep fuzzer: Yams' untyped loader traps on a key that is a list.
    @Test func aKeyThatIsAListIsAnErrorNotATrap() {
        #expect(message("", budget: "budget: {[trials, x]: 1}") == "budget: a mapping key must be a plain name, not a list or mapping")
        #expect(message("? {a: 1}\n: 2") == "a mapping key must be a plain name, not a list or mapping")
    }

    @Test func aGridTooLargeToEnumerateIsRefusedWithItsSize() {
        #expect(message("sampler: {name: grid}", space: "  - {name: seed, type: int, low: 0, high: 1000000000000}", budget: "")
                == "space: a grid of up to 1000000000001 combinations is too large to enumerate (at most 100000); narrow the int ranges or raise their step")
        #expect(message("sampler: {name: grid}", space: """
                  - {name: seed, type: int, low: 0, high: 999}
                  - {name: epochs, type: int, low: 1, high: 1000}
                """, budget: "") .contains("a grid of up to 1000000 combinations"))
        #expect(message("sampler: {name: grid}", space: "  - {name: seed, type: int, low: 0, high: 99999, step: 10}", budget: "") == "no error")
    }
}
