import FlockTrain
import Foundation
import Testing
@testable import FlockSweep

@Suite struct SamplerTests {
    static let space = SearchSpace([
        ParameterSpec(name: "lr", domain: .float(low: 1e-4, high: 1e-1, log: true)),
        ParameterSpec(name: "units", domain: .int(low: 16, high: 256, step: 16, log: false)),
        ParameterSpec(name: "width", domain: .int(low: 2, high: 1024, step: 1, log: true)),
        ParameterSpec(name: "optimizer", domain: .categorical([.string("adam"), .string("sgd")])),
        ParameterSpec(name: "momentum", domain: .float(low: 0.5, high: 0.99, log: false),
                      conditions: ["optimizer": [.string("sgd")]]),
    ])

    /// Runs `sampler` for `count` trials on a quadratic bowl and returns every suggestion.
    func suggestions(_ sampler: any Sampler, count: Int) -> [[String: ParameterValue]] {
        var observations: [SamplerHistory.Observation] = []
        var suggested = Set<[String: ParameterValue]>()
        var all: [[String: ParameterValue]] = []
        for number in 0..<count {
            guard let params = sampler.suggest(space: Self.space,
                                               history: SamplerHistory(observations: observations, suggested: suggested),
                                               number: number) else { break }
            all.append(params)
            suggested.insert(params)
            let loss = pow(log10(params["lr"]!.doubleValue!) + 2, 2) + Double(params["units"]!.doubleValue! - 128) / 256
            observations.append(.init(params: params, loss: loss))
        }
        return all
    }

    @Test(arguments: ["random", "tpe", "gp"])
    func suggestionsRespectBoundsStepsCategoriesAndConditions(name: String) {
        // The GP model is slow in a debug build: fewer trials, most of them from the model.
        let sampler: any Sampler = switch name {
        case "tpe": TPESampler(seed: 3)
        case "gp": GPSampler(seed: 3, startupTrials: 5)
        default: RandomSampler(seed: 3)
        }
        let count = name == "gp" ? 24 : 60
        let all = suggestions(sampler, count: count)
        #expect(all.count == count)
        for params in all {
            for parameter in Self.space.parameters {
                if parameter.isActive(given: params) {
                    #expect(params[parameter.name].map(parameter.contains) == true, "\(parameter.name) = \(String(describing: params[parameter.name]))")
                } else {
                    #expect(params[parameter.name] == nil, "inactive \(parameter.name) was set")
                }
            }
            if case let .int(width) = params["width"]! { #expect((2...1024).contains(width)) }
        }
        // Log spaces spread over decades: some lr below 1e-3 and some above 1e-2.
        let rates = all.map { $0["lr"]!.doubleValue! }
        #expect(rates.contains { $0 < 1e-3 } && rates.contains { $0 > 1e-2 })
        #expect(Set(all.map { $0["optimizer"]! }).count == 2)
        #expect(Set(all).count == all.count, "a configuration was suggested twice")
    }

    @Test func gridEnumeratesExactlyOnceThenStops() {
        let space = SearchSpace([
            ParameterSpec(name: "units", domain: .int(low: 32, high: 96, step: 32, log: false)),
            ParameterSpec(name: "optimizer", domain: .categorical([.string("adam"), .string("sgd")])),
            ParameterSpec(name: "momentum", domain: .categorical([.double(0.5), .double(0.9)]),
                          conditions: ["optimizer": [.string("sgd")]]),
        ])
        var suggested = Set<[String: ParameterValue]>()
        var order: [[String: ParameterValue]] = []
        while let next = GridSampler().suggest(space: space, history: SamplerHistory(observations: [], suggested: suggested),
                                                number: order.count) {
            order.append(next)
            suggested.insert(next)
        }
        // 3 widths × (adam, sgd+0.5, sgd+0.9) = 9 configurations.
        #expect(order.count == 9)
        #expect(Set(order).count == 9)
        #expect(order.filter { $0["optimizer"] == .string("adam") }.allSatisfy { $0["momentum"] == nil })
    }

    @Test func samplersAreDeterministicInHistoryAndNumber() {
        #expect(suggestions(TPESampler(seed: 9), count: 25) == suggestions(TPESampler(seed: 9), count: 25))
        #expect(suggestions(TPESampler(seed: 9), count: 25) != suggestions(TPESampler(seed: 10), count: 25))
    }

    @Test func tpeBeatsRandomOnBraninOverSeeds() {
        var tpeWins = 0
        var tpeRegrets: [Double] = [], randomRegrets: [Double] = []
        for seed in 0..<10 {
            let objective: ([String: ParameterValue]) -> Double = { TestFunctions.branin($0["x1"]!.doubleValue!, $0["x2"]!.doubleValue!) }
            let tpe = TestFunctions.minimize(TPESampler(seed: UInt64(seed)), space: TestFunctions.braninSpace, trials: 50, objective)
            let random = TestFunctions.minimize(RandomSampler(seed: UInt64(seed)), space: TestFunctions.braninSpace, trials: 50, objective)
            tpeRegrets.append(tpe - TestFunctions.braninMinimum)
            randomRegrets.append(random - TestFunctions.braninMinimum)
            if tpe < random { tpeWins += 1 }
        }
        #expect(tpeWins >= 7, "TPE won \(tpeWins) of 10")
        #expect(tpeRegrets.sorted()[5] < randomRegrets.sorted()[5])
    }

    @Test func tpeBeatsRandomOnConditionalParameters() {
        // Forrester's function (minimum −6.02074 at x = 0.75725) behind a categorical: each
        // branch's x is a conditional parameter, modelled alone over the trials that set it.
        let space = SearchSpace([
            ParameterSpec(name: "branch", domain: .categorical([.string("a"), .string("b")])),
            ParameterSpec(name: "xa", domain: .float(low: 0, high: 1, log: false), conditions: ["branch": [.string("a")]]),
            ParameterSpec(name: "xb", domain: .float(low: 0, high: 1, log: false), conditions: ["branch": [.string("b")]]),
        ])
        func forrester(_ x: Double) -> Double { pow(6 * x - 2, 2) * sin(12 * x - 4) }
        let objective: ([String: ParameterValue]) -> Double = { params in
            if let x = params["xa"]?.doubleValue { return forrester(x) + 6.02074 }
            return forrester(params["xb"]!.doubleValue!) + 6.02074 + 1
        }
        var tpeRegrets: [Double] = [], randomRegrets: [Double] = []
        for seed in 0..<10 {
            tpeRegrets.append(TestFunctions.minimize(TPESampler(seed: UInt64(seed)), space: space, trials: 30, objective))
            randomRegrets.append(TestFunctions.minimize(RandomSampler(seed: UInt64(seed)), space: space, trials: 30, objective))
        }
        let tpeMedian = tpeRegrets.sorted()[5], randomMedian = randomRegrets.sorted()[5]
        #expect(tpeMedian < randomMedian / 2, "TPE median regret \(tpeMedian), random \(randomMedian)")
    }

    @Test func kernelsShrinkToNeighboursButNotBelowTheFloor() {
        // Two good points close together and one far away, in a 10 × 10 box.
        let estimator = ParzenEstimator(observations: [[1, 1], [1.2, 1], [8, 8]], weights: [2, 1, 1],
                                             ranges: [(0, 10), (0, 10)], magnitude: 0.1, minimumBandwidth: 0.05,
                                             priorWeight: 1)
        let scott = 0.1 * pow(3, -1.0 / 6) * 10  // Scott's width for n = 3 in d = 2
        // Neighbours 0.2 and 0 away: both clipped up to the floor 0.05 · 10.
        #expect(estimator.sigmas[0] == [0.5, 0.5])
        #expect(estimator.sigmas[1] == [0.5, 0.5])
        // The lone point keeps Scott's width; the prior spans the box.
        #expect(abs(estimator.sigmas[2][0] - scott) < 1e-12 && abs(estimator.sigmas[2][1] - scott) < 1e-12)
        #expect(estimator.sigmas[3] == [10, 10])
        // Relative weights 2:1:1 share n = 3 against the prior's 1.
        #expect(estimator.weights == [0.375, 0.1875, 0.1875, 0.25])
    }

    @Test func tpeSamplesMostNearTheBestPoint() {
        // Twenty trials in a layout symmetric about the box's centre (2.5, 7.5): a poor band
        // across the middle, one excellent and one merely good point mirrored either side.
        // Only the values break the symmetry, and improvement weights should follow them.
        var observations: [SamplerHistory.Observation] = [
            .init(params: ["x1": .double(-2), "x2": .double(13)], loss: 0.5),
            .init(params: ["x1": .double(7), "x2": .double(2)], loss: 40),
        ]
        for (i, x1) in [-5.0, -2, 1, 4, 7, 10].enumerated() {
            for (j, x2) in [6.0, 7.5, 9].enumerated() {
                observations.append(.init(params: ["x1": .double(x1), "x2": .double(x2)], loss: 50 + Double(3 * i + j)))
            }
        }
        let history = SamplerHistory(observations: observations, suggested: [])
        var nearBest = 0, nearSecond = 0
        for number in 0..<200 {
            let params = TPESampler(seed: 1).suggest(space: TestFunctions.braninSpace, history: history, number: number)!
            let x1 = params["x1"]!.doubleValue!, x2 = params["x2"]!.doubleValue!
            if hypot(x1 + 2, x2 - 13) < 2.5 { nearBest += 1 }
            if hypot(x1 - 7, x2 - 2) < 2.5 { nearSecond += 1 }
        }
        #expect(nearBest > 2 * nearSecond, "\(nearBest) near the best point, \(nearSecond) near the second")
    }

    @Test func testFunctionsHaveTheirKnownMinima() {
        #expect(abs(TestFunctions.branin(Double.pi, 2.275) - TestFunctions.braninMinimum) < 1e-5)
        #expect(abs(TestFunctions.branin(-Double.pi, 12.275) - TestFunctions.braninMinimum) < 1e-5)
        let optimum = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]
        #expect(abs(TestFunctions.hartmann6(optimum) - TestFunctions.hartmann6Minimum) < 1e-4)
    }
}

@Suite struct PrunerTests {
    /// Scripted curves (lower is better): value at each step.
    func curve(_ number: Int, _ values: [Double], complete: Bool = true) -> LearningCurve {
        LearningCurve(number: number, values: Dictionary(uniqueKeysWithValues: values.enumerated().map { ($0.offset + 1, $0.element) }),
                      isComplete: complete)
    }

    @Test func medianPrunesTrialsWorseThanTheMedianAtTheSameStep() {
        let pruner = MedianPruner(startupTrials: 3, warmupSteps: 1)
        let finished = [curve(0, [1.0, 0.8, 0.6]), curve(1, [1.0, 0.7, 0.5]), curve(2, [1.2, 0.9, 0.7])]
        // Median at step 2 is 0.8.
        #expect(pruner.shouldPrune(curve(3, [0.9, 0.85], complete: false), step: 2, others: finished))
        #expect(!pruner.shouldPrune(curve(4, [0.9, 0.75], complete: false), step: 2, others: finished))
        // Warm-up: never at step 1; too few finished trials: never.
        #expect(!pruner.shouldPrune(curve(5, [5.0], complete: false), step: 1, others: finished))
        #expect(!pruner.shouldPrune(curve(6, [5.0, 5.0], complete: false), step: 2, others: Array(finished.prefix(2))))
        // The trial's best so far counts, not its latest value.
        #expect(!pruner.shouldPrune(curve(7, [0.5, 0.9], complete: false), step: 2, others: finished))
    }

    @Test func ashaPromotesTheTopThirdAtEachRung() {
        let asha = SuccessiveHalvingPruner(minResource: 1, reductionFactor: 3)
        // Rungs at steps 1, 3, 9; nothing happens between rungs.
        #expect(asha.rung(at: 1) == 0 && asha.rung(at: 3) == 1 && asha.rung(at: 9) == 2 && asha.rung(at: 2) == nil)
        var others: [LearningCurve] = []
        var decisions: [Bool] = []
        // Six trials reach rung 0 with these values, one after another.
        for (number, value) in [0.5, 0.4, 0.6, 0.3, 0.45, 0.35].enumerated() {
            let trial = curve(number, [value], complete: false)
            decisions.append(asha.shouldPrune(trial, step: 1, others: others))
            others.append(trial)
        }
        // 1st: alone → best → continues. 2nd: 2 values, keep best only → 0.4 < 0.5 continues.
        // 3rd: 0.6 not best → pruned. 4th: 0.3 best → continues. 5th: 5 values, top 1 = 0.3 → pruned.
        // 6th: 6 values, top 2 = {0.3, 0.35} → continues.
        #expect(decisions == [false, false, true, false, true, false])
        #expect(!asha.shouldPrune(curve(9, [9, 9], complete: false), step: 2, others: others))
    }

    @Test func hyperbandBracketsCompeteSeparately() {
        let hyperband = HyperbandPruner(minResource: 1, maxResource: 9, reductionFactor: 3)
        #expect(hyperband.bracketCount == 3)
        // Bracket 0 (numbers 0, 3, 6, …) has rungs at 1, 3, 9; bracket 1 at 3, 9; bracket 2 at 9.
        let rivals = [curve(0, [0.1]), curve(3, [0.2])]
        #expect(hyperband.shouldPrune(curve(6, [0.9], complete: false), step: 1, others: rivals))
        // Trial 1 (bracket 1) has no rung at step 1, and trial 4 does not compete with bracket 0.
        #expect(!hyperband.shouldPrune(curve(1, [0.9], complete: false), step: 1, others: rivals))
        #expect(!hyperband.shouldPrune(curve(4, [0.9, 0.9, 0.9], complete: false), step: 3, others: rivals))
    }
}
