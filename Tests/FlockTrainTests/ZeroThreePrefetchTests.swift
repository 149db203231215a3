import FlockComm
import FlockNN
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// ZeRO stage 3 gathers the next layer's rows while one runs: the model is bit for bit
/// the one gathered layer by layer on demand, and after the first step nearly every
/// gather finds its rows already there.
@Suite struct ZeroThreePrefetchTests {
    static func train(prefetching: Bool, pipeline: Int = 1) throws -> [(model: [Float]?, hits: Int, misses: Int)] {
        let config = try ZeroTests.config(zero: 3, pipeline: pipeline, epochs: 1)
        return try LocalCommunicator.run(ranks: 2 * pipeline, deadline: 120) { communicator in
            let trainer = try Trainer(config: config, communicator: communicator)
            let residency = try #require(trainer.shardedParameters)
            residency.prefetches = prefetching
            _ = try trainer.fit()
            let (hits, misses) = (residency.prefetchHits, residency.prefetchMisses)
            return (try trainer.wholeModelState(), hits, misses)
        }
    }

    @Test(arguments: [1, 2])
    func prefetchedGathersTrainTheSameModel(pipeline: Int) throws {
        let onDemand = try Self.train(prefetching: false, pipeline: pipeline)
        let ahead = try Self.train(prefetching: true, pipeline: pipeline)
        #expect(try #require(ahead[0].model) == (try #require(onDemand[0].model)))
        #expect(onDemand.allSatisfy { $0.hits == 0 }, "\(onDemand.map { ($0.hits, $0.misses) }) \(ahead.map { ($0.hits, $0.misses) })")
        for (rank, outcome) in ahead.enumerated() {
            // Each step's 3 layers (or a stage's) are gathered in forward and again in backward; only
            // the step's first gather and the guesses at step and evaluation boundaries miss.
            #expect(outcome.hits > 3 * outcome.misses && outcome.hits > 0, "rank \(rank): \(outcome.hits) hits, \(outcome.misses) misses")
        }
    }

    /// `parallel.prefetch: false` gathers every layer on demand (for timing the two in one
    /// sitting): no gather is prefetched; on by default; refused where nothing is gathered.
    @Test func theConfigSwitchesThePrefetchOff() throws {
        for prefetch in [false, true] {
            var configured = try ZeroTests.config(zero: 3, epochs: 1)
            configured.parallel.prefetch = prefetch
            let config = configured
            let hits = try LocalCommunicator.run(ranks: 2, deadline: 120) { communicator in
                let trainer = try Trainer(config: config, communicator: communicator)
                _ = try trainer.fit()
                return try #require(trainer.shardedParameters).prefetchHits
            }
            #expect(prefetch ? hits.allSatisfy { $0 > 0 } : hits == [0, 0], "prefetch \(prefetch): \(hits) hits")
        }
        #expect(try ZeroTests.config(zero: 3).parallel.prefetch)
        var written = try ZeroTests.config(zero: 3)
        written.parallel.prefetch = false
        #expect(try ConfigLoader.decode(yaml: ConfigLoader.yaml(of: written), baseDirectory: "/").parallel.prefetch == false)
        var off = try ZeroTests.config(zero: 2)
        off.parallel.prefetch = false
        #expect(throws: ConfigError(path: "parallel.prefetch", "only zero 3 gathers weights to prefetch; set zero: 3 or leave prefetch out")) {
            try off.validate()
        }
    }
}
