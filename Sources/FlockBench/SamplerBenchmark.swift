import FlockParallel
import FlockStore
import FlockSweep
import FlockTensor
import FlockTrain
import Foundation

/// `flock bench sampler`: the median simple regret (best value − known optimum) after
/// `trials` trials over `seeds` seeds, for the GP, TPE and random search, on Branin and
/// Hartmann6 (the GP also with 4 simulated concurrent workers); the milliseconds one GP
/// suggestion takes after 50 and 200 trials; and the driver's overhead per trial with the
/// SQLite store, measured with an objective that returns at once.
public struct SamplerBenchmark {
    public struct Regrets: Sendable {
        public let gp: Double
        /// The GP with 4 workers: each suggestion made while 3 other trials are pending.
        public let gpFourWorkers: Double
        public let tpe: Double
        public let random: Double
        /// random regret ÷ TPE regret, seed by seed (random search then TPE on each seed):
        /// how many times closer to the optimum TPE gets.
        public let improvement: PairedRatio
    }

    public struct Result: Sendable {
        public let branin: Regrets
        public let hartmann6: Regrets
        /// Median over `overheadRuns` driver runs, with min–max.
        public let millisecondsPerTrial: Double
        public let millisecondsPerTrialRange: ClosedRange<Double>
        public let overheadTrials: Int
        /// Median milliseconds of one GP suggestion on Hartmann6 (6 parameters) after this
        /// many finished trials, by trial count.
        public let gpMillisecondsPerSuggestion: [Int: Double]
    }

    public var seeds = 10
    public var trials = 50
    public var overheadTrials = 200
    /// Driver runs timed for the overhead (each on a fresh store).
    public var overheadRuns = 5
    /// Finished trials before the timed GP suggestions.
    public var suggestionTimingTrials = [50, 200]

    public init() {}

    public func run(storeFolder: URL) throws -> Result {
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        func regrets(_ space: SearchSpace, _ optimum: Double, _ objective: ([String: ParameterValue]) -> Double) -> Regrets {
            var tpe: [Double] = [], random: [Double] = [], seed = 0
            let improvement = PairedRatio.measure(pairs: seeds, baseline: {
                random.append(TestFunctions.minimize(RandomSampler(seed: UInt64(seed)), space: space, trials: trials, objective) - optimum)
                return 1 / max(random.last!, 1e-12)
            }, candidate: {
                tpe.append(TestFunctions.minimize(TPESampler(seed: UInt64(seed)), space: space, trials: trials, objective) - optimum)
                seed += 1
                return 1 / max(tpe.last!, 1e-12)
            })
            let gp = (0..<seeds).map { seed in
                TestFunctions.minimize(GPSampler(seed: UInt64(seed)), space: space, trials: trials, objective) - optimum
            }
            let gpFourWorkers = (0..<seeds).map { seed in
                TestFunctions.minimize(GPSampler(seed: UInt64(seed)), space: space, trials: trials, workers: 4, objective) - optimum
            }
            return Regrets(gp: median(gp), gpFourWorkers: median(gpFourWorkers), tpe: median(tpe), random: median(random),
                           improvement: improvement)
        }
        let branin = regrets(TestFunctions.braninSpace, TestFunctions.braninMinimum) {
            TestFunctions.branin($0["x1"]!.doubleValue!, $0["x2"]!.doubleValue!)
        }
        let hartmann = regrets(TestFunctions.hartmann6Space, TestFunctions.hartmann6Minimum) { params in
            TestFunctions.hartmann6((0..<6).map { params["x\($0)"]!.doubleValue! })
        }

        var suggestionMilliseconds: [Int: Double] = [:]
        for count in suggestionTimingTrials {
            suggestionMilliseconds[count] = median((0..<5).map { seed in gpSuggestionMilliseconds(after: count, seed: UInt64(seed)) })
        }

        var perTrial: [Double] = [], done = 0
        for _ in 0..<max(overheadRuns, 1) {
            let (milliseconds, trials) = try driverMilliseconds(storeFolder: storeFolder)
            perTrial.append(milliseconds)
            done = trials
        }
        return Result(branin: branin, hartmann6: hartmann, millisecondsPerTrial: median(perTrial),
                      millisecondsPerTrialRange: perTrial.min()!...perTrial.max()!, overheadTrials: done,
                      gpMillisecondsPerSuggestion: suggestionMilliseconds)
    }

    /// The test functions by name: search space, known minimum and objective.
    public static let functions: [String: (space: SearchSpace, optimum: Double, objective: @Sendable ([String: ParameterValue]) -> Double)] = [
        "branin": (TestFunctions.braninSpace, TestFunctions.braninMinimum, {
            TestFunctions.branin($0["x1"]!.doubleValue!, $0["x2"]!.doubleValue!)
        }),
        "hartmann6": (TestFunctions.hartmann6Space, TestFunctions.hartmann6Minimum, { params in
            TestFunctions.hartmann6((0..<6).map { params["x\($0)"]!.doubleValue! })
        }),
    ]

    /// The GP's simple regret on `function` after `trials` trials for each seed in `seeds`,
    /// seed by seed (to compare sampler variants without running TPE and random search).
    public func gpRegrets(function: String, seeds: Range<Int>, workers: Int = 1) -> [Double]? {
        guard let (space, optimum, objective) = Self.functions[function] else { return nil }
        return seeds.map { seed in
            TestFunctions.minimize(GPSampler(seed: UInt64(seed)), space: space, trials: trials, workers: workers, objective) - optimum
        }
    }

    /// Milliseconds of one GP suggestion on Hartmann6 after `count` random trials (the
    /// fit, the pending-free acquisition search and the decoding: all of `suggest`).
    func gpSuggestionMilliseconds(after count: Int, seed: UInt64) -> Double {
        var observations: [SamplerHistory.Observation] = []
        var suggested = Set<[String: ParameterValue]>()
        for number in 0..<count {
            let params = RandomSampler(seed: seed).suggest(space: TestFunctions.hartmann6Space,
                                                           history: SamplerHistory(observations: [], suggested: suggested),
                                                           number: number)!
            suggested.insert(params)
            observations.append(.init(params: params, loss: TestFunctions.hartmann6((0..<6).map { params["x\($0)"]!.doubleValue! })))
        }
        let history = SamplerHistory(observations: observations, suggested: suggested)
        let start = DispatchTime.now().uptimeNanoseconds
        _ = GPSampler(seed: seed).suggest(space: TestFunctions.hartmann6Space, history: history, number: count)
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
    }

    /// Milliseconds per trial of one driver run and its trials: the whole driver path per
    /// trial (claim in BEGIN IMMEDIATE, sample from the stored history, run, record) on a
    /// fresh SQLite file.
    private func driverMilliseconds(storeFolder: URL) throws -> (Double, Int) {
        try? FileManager.default.removeItem(at: storeFolder)
        let store = try ExperimentStore(path: storeFolder.appendingPathComponent("bench.sqlite").path)
        let sweep = try SweepConfig.parse("""
            study: overhead
            base_config: {data: {source: /dev/null.csv}, model: [{type: dense, units: 1}], loss: mse, optimizer: {name: momentum}}
            space:
              - {name: optimizer.lr, type: float, low: 0.0001, high: 0.1, log: true}
              - {name: optimizer.momentum, type: float, low: 0.0, high: 0.9}
            budget: {trials: \(overheadTrials)}
            objective: {metric: loss}
            sampler: {name: tpe}
            """, baseDirectory: "/")
        let driver = SweepDriver(sweep: sweep, store: store, directory: storeFolder, runner: FunctionRunner { params in
            params["optimizer.lr"]!.doubleValue! * params["optimizer.momentum"]!.doubleValue!
        })
        let start = DispatchTime.now().uptimeNanoseconds
        let done = try driver.run(workers: 1)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return (seconds * 1000 / Double(done.count), done.count)
    }
}
