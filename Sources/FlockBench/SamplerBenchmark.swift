import FlockSweep
import FlockTrain
import Foundation

/// `flock bench sampler`: the median simple regret (best value − known optimum) after
/// `trials` trials over `seeds` seeds, for TPE and random search, on Branin and
/// Hartmann6; and the driver's overhead per trial with the SQLite store, measured with
/// an objective that returns at once.
public struct SamplerBenchmark {
    public struct Regrets: Sendable {
        public let tpe: Double
        public let random: Double
    }

    public struct Result: Sendable {
        public let branin: Regrets
        public let hartmann6: Regrets
        public let millisecondsPerTrial: Double
        public let overheadTrials: Int
    }

    public var seeds = 10
    public var trials = 50
    public var overheadTrials = 200

    public init() {}

    public func run(storeFolder: URL) throws -> Result {
        func median(_ values: [Double]) -> Double {
            let sorted = values.sorted()
            return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        }
        func regrets(_ space: SearchSpace, _ optimum: Double, _ objective: ([String: ParameterValue]) -> Double) -> Regrets {
            let tpe = (0..<seeds).map { TestFunctions.minimize(TPESampler(seed: UInt64($0)), space: space, trials: trials, objective) - optimum }
            let random = (0..<seeds).map { TestFunctions.minimize(RandomSampler(seed: UInt64($0)), space: space, trials: trials, objective) - optimum }
            return Regrets(tpe: median(tpe), random: median(random))
        }
        let branin = regrets(TestFunctions.braninSpace, TestFunctions.braninMinimum) {
            TestFunctions.branin($0["x1"]!.doubleValue!, $0["x2"]!.doubleValue!)
        }
        let hartmann = regrets(TestFunctions.hartmann6Space, TestFunctions.hartmann6Minimum) { params in
            TestFunctions.hartmann6((0..<6).map { params["x\($0)"]!.doubleValue! })
        }

        // The whole driver path per trial: claim in BEGIN IMMEDIATE, sample from the
        // stored history, run, record — on a fresh SQLite file.
        try? FileManager.default.removeItem(at: storeFolder)
        let store = try ExperimentStore(path: storeFolder.appendingPathComponent("bench.sqlite").path)
        let sweep = try SweepConfig.parse("""
            study: overhead
            base_config: {data: {source: /dev/null.csv}, model: [{type: dense, units: 1}], loss: mse}
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
        return Result(branin: branin, hartmann6: hartmann, millisecondsPerTrial: seconds * 1000 / Double(done.count),
                      overheadTrials: done.count)
    }
}
