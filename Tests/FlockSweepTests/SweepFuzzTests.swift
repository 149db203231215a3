import Foundation
import FlockTestSupport
import Testing
@testable import FlockSweep

/// The sweep-file decoder under mutated sweep files: an error or a valid study, never a
/// trap or a hang. `FLOCK_FUZZ_ITERATIONS` for a longer run.
@Suite(.hangLimit) struct SweepFuzzTests {
    @Test func sweepFileDecoder() throws {
        let base = "base_config: {data: {source: \(ChildProcess.digitsCSV), label_column: label}, model: [{type: dense, units: 10}], epochs: 3}"
        let seeds = [
            """
            study: s
            \(base)
            space:
              - {name: optimizer.lr, type: float, low: 0.0001, high: 0.01, log: true}
              - {name: "model[0].units", type: int, low: 4, high: 64, step: 4}
              - {name: optimizer.name, type: categorical, choices: [adam, momentum]}
              - {name: optimizer.momentum, type: float, low: 0.5, high: 0.9, when: {optimizer.name: [momentum]}}
            objective: {metric: val_accuracy, direction: maximize}
            budget: {trials: 8, wall_seconds: 60}
            sampler: {name: tpe, startup_trials: 3, candidates: 24}
            pruner: {name: hyperband, min_resource: 1, max_resource: 3, reduction_factor: 3}
            workers: 2
            seed: 7
            """,
            """
            study: g
            \(base)
            space:
              - {name: seed, type: int, low: 0, high: 20, step: 5}
              - {name: "model[0].units", type: categorical, choices: [8, 16]}
            sampler: {name: grid}
            pruner: {name: median, startup_trials: 2, warmup_steps: 1}
            max_retries: 2
            heartbeat_timeout: 5
            """,
            // Once trapped or hung: a negative seed, an int range up to Int.max, a 10^12 grid.
            "study: r\n\(base)\nspace: [{name: seed, type: int, low: 0, high: 9223372036854775807}]\nbudget: {trials: 1}\nseed: -1",
            "study: h\n\(base)\nspace: [{name: seed, type: int, low: 0, high: 1000000000000}]\nsampler: {name: grid}",
            // Found by this fuzzer: a mapping key that is a list made Yams force-unwrap nil.
            "study: k\n\(base)\nspace: [{name: seed, type: int, low: 0, high: 3}]\nbudget: {[trials]: 1}",
        ].map { Data($0.utf8) }
        var fuzzer = MutationFuzzer(seeds: seeds)
        var accepted = 0
        fuzzer.run(iterations: MutationFuzzer.iterations(default: 600)) { input in
            if (try? SweepConfig.parse(String(decoding: input, as: UTF8.self), baseDirectory: "/")) != nil { accepted += 1 }
        }
        #expect(accepted > 2)
    }
}
