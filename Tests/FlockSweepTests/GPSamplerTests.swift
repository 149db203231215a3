import FlockTrain
import Foundation
import Testing
@testable import FlockSweep

/// The GP sampler's behaviour: valid suggestions, determinism, pending trials, and quality.
@Suite struct GPSamplerTests {
    static let branin: @Sendable ([String: ParameterValue]) -> Double = { TestFunctions.branin($0["x1"]!.doubleValue!, $0["x2"]!.doubleValue!) }

    /// Branin's history after `count` random trials.
    static func randomHistory(_ count: Int) -> [SamplerHistory.Observation] {
        (0..<count).map { number in
            let params = RandomSampler(seed: 4).suggest(space: TestFunctions.braninSpace,
                                                        history: SamplerHistory(observations: [], suggested: []), number: number)!
            return .init(params: params, loss: branin(params))
        }
    }

    @Test func suggestionsAreDeterministicInSeedAndHistory() {
        let sampler = SamplerTests()
        let first = sampler.suggestions(GPSampler(seed: 9, startupTrials: 4), count: 10)
        #expect(first == sampler.suggestions(GPSampler(seed: 9, startupTrials: 4), count: 10))
        #expect(first != sampler.suggestions(GPSampler(seed: 10, startupTrials: 4), count: 10))
    }

    @Test func startUpTrialsFollowTheSobolDesign() {
        // With nothing finished the first 8 trials are the design's first 8 points: one in
        // each eighth of every coordinate (8 random draws would all differ with chance 0.2 %).
        let space = SearchSpace([
            ParameterSpec(name: "lr", domain: .float(low: 1e-4, high: 1e-1, log: true)),
            ParameterSpec(name: "units", domain: .int(low: 1, high: 800, step: 1, log: false)),
            ParameterSpec(name: "momentum", domain: .float(low: 0, high: 1, log: false)),
        ])
        let sampler = GPSampler(seed: 6)
        var suggested = Set<[String: ParameterValue]>()
        let points = (0..<8).map { number -> [Double] in
            let params = sampler.suggest(space: space, history: SamplerHistory(observations: [], suggested: suggested), number: number)!
            suggested.insert(params)
            return UnitCubeEncoding(space.parameters).encode(params)!
        }
        for d in 0..<3 {
            #expect(Set(points.map { Int($0[d] * 8) }).count == 8, "coordinate \(d): \(points.map { $0[d] })")
        }
    }

    @Test func pendingTrialsGetADifferentSuggestion() {
        // Four workers claim one after another while the others still run: each sees
        // the earlier claims as pending and must go elsewhere.
        let observations = Self.randomHistory(12)
        let suggested = Set(observations.map(\.params))
        var pending: [[String: ParameterValue]] = []
        for _ in 0..<4 {
            let next = GPSampler(seed: 1).suggest(space: TestFunctions.braninSpace,
                                                  history: SamplerHistory(observations: observations, suggested: suggested, pending: pending),
                                                  number: 12)!
            for other in pending {
                let distance = hypot((next["x1"]!.doubleValue! - other["x1"]!.doubleValue!) / 15,
                                     (next["x2"]!.doubleValue! - other["x2"]!.doubleValue!) / 15)
                #expect(distance > 0.01, "suggested \(next) next to the pending \(other)")
            }
            pending.append(next)
        }
        // Without pending trials the same (seed, history, number) gives the first one again.
        let again = GPSampler(seed: 1).suggest(space: TestFunctions.braninSpace,
                                               history: SamplerHistory(observations: observations, suggested: suggested), number: 12)
        #expect(again == pending[0])
    }

    @Test func gpBeatsTPEOnBraninOverSeeds() {
        // 30 trials (fewer than the benchmark's 50, for a debug build), each sampler with its
        // default start-up trials (GP 10 from the Sobol design, TPE 5 random).
        var gpRegrets: [Double] = [], tpeRegrets: [Double] = [], gpWins = 0
        for seed in 0..<10 {
            let gp = TestFunctions.minimize(GPSampler(seed: UInt64(seed)), space: TestFunctions.braninSpace,
                                            trials: 30, Self.branin)
            let tpe = TestFunctions.minimize(TPESampler(seed: UInt64(seed), startupTrials: 5), space: TestFunctions.braninSpace,
                                             trials: 30, Self.branin)
            gpRegrets.append(gp - TestFunctions.braninMinimum)
            tpeRegrets.append(tpe - TestFunctions.braninMinimum)
            if gp < tpe { gpWins += 1 }
        }
        let gpMedian = gpRegrets.sorted()[5], tpeMedian = tpeRegrets.sorted()[5]
        #expect(gpWins >= 8, "GP won \(gpWins) of 10")
        #expect(gpMedian < tpeMedian / 10, "GP median regret \(gpMedian), TPE \(tpeMedian)")
    }

    @Test func aPureCategoricalSpaceFindsTheBestChoiceAndNeverRepeats() {
        let space = SearchSpace([
            ParameterSpec(name: "activation", domain: .categorical([.string("relu"), .string("tanh"), .string("gelu")])),
            ParameterSpec(name: "layers", domain: .int(low: 1, high: 4, step: 1, log: false)),
        ])
        // 12 configurations; the GP sees them all once, then the space is exhausted.
        var seen: [[String: ParameterValue]] = []
        var observations: [SamplerHistory.Observation] = []
        while let params = GPSampler(seed: 2, startupTrials: 3).suggest(
            space: space, history: SamplerHistory(observations: observations, suggested: Set(seen)), number: seen.count) {
            seen.append(params)
            let loss = (params["activation"] == .string("gelu") ? 0 : 1) + abs(Double(params["layers"]!.doubleValue! - 3))
            observations.append(.init(params: params, loss: loss))
            if seen.count == 12 { break }
        }
        #expect(Set(seen).count == seen.count && seen.count == 12)
        // The best configuration (gelu, 3 layers) comes within the first 8.
        #expect(seen.prefix(8).contains(["activation": .string("gelu"), "layers": .int(3)]), "\(seen)")
    }

    @Test func autoPicksTheGPForSmallNumericSpacesOnly() throws {
        func sampler(_ space: String, budget: String = "{trials: 40}") throws -> any Sampler {
            try SweepConfig.parse("""
                study: s
                base_config: {data: {source: \(DriverTests.digits), label_column: label}, model: [{type: dense, units: 10}]}
                space:
                \(space)
                budget: \(budget)
                sampler: {name: auto}
                """, baseDirectory: "/").sampler
        }
        let numeric = "  - {name: optimizer.lr, type: float, low: 0.001, high: 0.1, log: true}\n  - {name: \"model[0].units\", type: int, low: 8, high: 64}"
        #expect(try sampler(numeric) is GPSampler)
        #expect(try sampler(numeric + "\n  - {name: optimizer.name, type: categorical, choices: [adam, sgd]}") is TPESampler)
        #expect(try sampler(numeric, budget: "{wall_seconds: 600}") is TPESampler)
        #expect(try sampler(numeric, budget: "{trials: 501}") is TPESampler)
        let gp = try #require(try SweepConfig.parse("""
            study: s
            base_config: {data: {source: \(DriverTests.digits), label_column: label}, model: [{type: dense, units: 10}]}
            space:
            \(numeric)
            budget: {trials: 10}
            sampler: {name: gp, startup_trials: 3, candidates: 500}
            """, baseDirectory: "/").sampler as? GPSampler)
        #expect(gp.startupTrials == 3 && gp.candidates == 500)
    }
}
