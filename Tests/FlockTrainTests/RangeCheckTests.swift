import FlockNN
import FlockTensor
import FlockTestSupport
import Testing
@testable import FlockTrain

/// Every number a user gives is range-checked where it is decoded: the error names the
/// field and the allowed range, and nothing later overflows or traps on it.
@Suite struct RangeCheckTests {
    let base = """
    data: {source: data.csv, batch_size: 16}
    model: [{type: dense, units: 8, activation: relu}, {type: dense, units: 4}]
    """

    func message(_ overrides: [String]) -> String? {
        do { _ = try ConfigLoader.decode(yaml: base, overrides: overrides, baseDirectory: "/data"); return nil } catch {
            return "\(error)"
        }
    }

    @Test func sampleShapesWhoseProductOverflowsAreRangeErrors() {
        #expect(message(["data.shape=[9223372036854775807, 2]"])
                == "data.shape[0]: expected an integer in 1...16777216, got 9223372036854775807")
        #expect(message(["data.shape=[65536, 65536, 2]"]) == "data.shape: [65536, 65536, 2] holds more than 2^31 values per sample")
    }

    @Test func scheduleEpochCountsAreBounded() {
        #expect(message(["schedule={name: cosine, warmup_epochs: 9223372036854775807}"])
                == "schedule.warmup_epochs: expected an integer in 0...1000000, got 9223372036854775807")
        #expect(message(["schedule={name: step, step_size: 9223372036854775807}"])
                == "schedule.step_size: expected an integer in 1...1000000, got 9223372036854775807")
    }

    @Test func windowsAndFiltersAreBounded() {
        #expect(message(["model[0]={type: max_pool2d, pool: 9223372036854775807}"])
                == "model[0].pool: expected an integer in 1...4096, got 9223372036854775807")
        #expect(message(["model[0]={type: conv2d, filters: 2, kernel: [3, 100000]}"])
                == "model[0].kernel: expected an integer in 1...4096, got 100000")
        #expect(message(["model[0]={type: conv2d, filters: 9223372036854775807, kernel: 3}"])
                == "model[0].filters: expected an integer in 1...16777216, got 9223372036854775807")
    }

    /// Each size passes its own check, but the weights together would not fit in memory:
    /// the builder refuses before allocating.
    @Test func aModelTooLargeForMemoryIsAnErrorBeforeAllocation() throws {
        let config = try ConfigLoader.decode(yaml: base, overrides: ["model=[{type: dense, units: 4}, {type: dense, units: 16777216}]"],
                                             baseDirectory: "/data")
        let parameters = ParameterStore()
        var generator = RandomGenerator(seed: 1)
        let error = #expect(throws: ConfigError.self) {
            _ = try Sequential(config.model, inputShape: [1 << 31], parameters: parameters, generator: &generator)
        }
        #expect(error?.description == "model[0]: layers.0.weight of shape [4, 2147483648] would take the model past 2147483648 values (8 GiB, as much again for gradients)")
        #expect(parameters.stateCount < 1 << 10)
    }

    @Test func terminateOnNaNCanBeSwitchedOffAndStaysOffInTheResolvedConfig() throws {
        let off = try ConfigLoader.decode(yaml: base, overrides: ["callbacks.terminate_on_nan=false"], baseDirectory: "/data")
        #expect(off.callbacks.terminateOnNaN == nil)
        let again = try ConfigLoader.decode(yaml: try ConfigLoader.yaml(of: off), baseDirectory: "/")
        #expect(again.callbacks.terminateOnNaN == nil)
        let on = try ConfigLoader.decode(yaml: base, overrides: ["callbacks.terminate_on_nan=true"], baseDirectory: "/data")
        #expect(on.callbacks.terminateOnNaN == TerminateOnNaN())
        #expect(message(["callbacks.terminate_on_nan={action: rollback, max_rollbacks: 9223372036854775807}"])
                == "callbacks.terminate_on_nan.max_rollbacks: expected an integer in 0...1000, got 9223372036854775807")
    }

    @Test(arguments: ["inf", "-3", "nan", "ten"])
    func aCollectiveTimeoutVariableThatIsNotSecondsIsAnError(value: String) {
        let error = #expect(throws: LaunchError.self) {
            _ = try RankLaunch.choose(ranks: 2, environment: ["FLOCK_COLLECTIVE_TIMEOUT": value])
        }
        #expect(error?.description == "FLOCK_COLLECTIVE_TIMEOUT: expected seconds in (0, 864000], got '\(value)'")
        #expect((try? RankLaunch.choose(ranks: 2, environment: ["FLOCK_COLLECTIVE_TIMEOUT": "12.5"])) == .localRanks(2))
    }

    @Test func moreLocalRanksThanThreadsCanCarryIsAnError() {
        let error = #expect(throws: LaunchError.self) { _ = try RankLaunch.choose(ranks: Int.max, environment: [:]) }
        #expect(error?.description == "--ranks: at most 1024 ranks run as threads of one process, got \(Int.max) (start more with mpirun)")
    }
}
