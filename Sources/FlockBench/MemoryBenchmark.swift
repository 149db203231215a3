import FlockStore
import FlockTrain
import Foundation

/// `flock bench memory`: how large a model trains within a per-rank memory budget at each
/// `zero` stage, with and without recomputation. For each setting it trains residual MLPs
/// of growing depth (`flock train` under `mpirun -np R`, `batches` steps on generated data,
/// one batch an epoch so that `metrics.jsonl` times each step) until a model's busiest rank
/// peaks over the budget (or the job fails), and reports each run's peak resident memory
/// per rank (`summary.json`'s `peak_resident_bytes`), samples per second over every step,
/// and the steady step time: the median of the steps after the first `warmUpBatches`.
///
/// ```
/// zero 3, recompute blocks, depth 16: 33.6M parameters, peak 412–431 MB per rank, 96 samples/s, step 1.21 s (1.18–1.30)  fits
/// ```
public struct MemoryBenchmark {
    /// One model trained at one setting.
    public struct Trial {
        public let zero: Int
        public let recompute: Bool
        public let depth: Int
        public let parameters: Int
        /// By rank; empty when the job failed.
        public let peakBytes: [Int64]
        public let samplesPerSecond: Double?
        /// Each step's seconds (rank 0's epochs of one batch); nil when the job failed.
        public var stepTime: SteadyStepTime? = nil
        public let failure: String?

        public var fits: Bool { failure == nil }
    }

    public let executable: URL
    public var ranks = 4
    public var budgetBytes: Int64 = 1 << 30
    /// Units of every Dense layer (and features of the generated data).
    public var width = 1024
    public var batchSize = 128
    /// Residual blocks (two Dense layers each) of the first model; each next one doubles.
    public var firstDepth = 2
    public var maxDepth = 256
    /// Steps of each job (epochs of one batch), and how many of the first are left out of
    /// the step time.
    public var batches = 8
    public var warmUpBatches = 2
    public var settings: [(zero: Int, recompute: Bool)] = (0...3).flatMap { [($0, false), ($0, true)] }
    public var timeout: TimeInterval = 900

    public init(executable: URL) { self.executable = executable }

    /// Parameters of a model of `depth` blocks: two W×W Dense layers each, and W → 2.
    public func parameters(depth: Int) -> Int { depth * 2 * (width * width + width) + 2 * width + 2 }

    /// Runs every setting; `progress` hears each trial as it ends.
    public func run(in folder: URL, progress: (Trial) -> Void = { _ in }) throws -> [Trial] {
        let data = folder.appendingPathComponent("data.csv")
        try writeData(to: data)
        var trials: [Trial] = []
        for setting in settings {
            var depth = firstDepth
            while depth <= maxDepth {
                let trial = try train(depth: depth, zero: setting.zero, recompute: setting.recompute, data: data, in: folder)
                trials.append(trial)
                progress(trial)
                guard trial.fits else { break }
                depth *= 2
            }
        }
        return trials
    }

    /// The largest model that fitted at each setting (nil: not even the first).
    public static func largest(_ trials: [Trial]) -> [(zero: Int, recompute: Bool, parameters: Int?)] {
        var order: [String] = [], best: [String: (Int, Bool, Int?)] = [:]
        for trial in trials {
            let key = "\(trial.zero)-\(trial.recompute)"
            if best[key] == nil { order.append(key); best[key] = (trial.zero, trial.recompute, nil) }
            if trial.fits { best[key]!.2 = max(best[key]!.2 ?? 0, trial.parameters) }
        }
        return order.map { best[$0]! }
    }

    /// One batch of random features and two classes, in the CSV the configs read.
    func writeData(to url: URL) throws {
        var generator = SystemRandomNumberGenerator()
        var text = (0..<width).map { "f\($0)" }.joined(separator: ",") + ",label\n"
        for row in 0..<batchSize {
            text += (0..<width).map { _ in String(format: "%.3f", Double.random(in: -1...1, using: &generator)) }.joined(separator: ",")
            text += ",\(row % 2)\n"
        }
        try Data(text.utf8).write(to: url)
    }

    func config(depth: Int, zero: Int, recompute: Bool, data: URL) -> String {
        let block = "  - {type: residual, block: [{type: dense, units: \(width), activation: tanh}, {type: dense, units: \(width)}]}\n"
        return """
            seed: 1
            epochs: \(batches)
            data: {source: \(data.path), batch_size: \(batchSize), validation_split: 0}
            model:
            \(String(repeating: block, count: depth))  - {type: dense, units: 2}
            optimizer: {name: adam, lr: 0.0001}
            callbacks: {model_checkpoint: false}
            parallel: {zero: \(zero), recompute: \(recompute ? "blocks" : "none")}
            """
    }

    func train(depth: Int, zero: Int, recompute: Bool, data: URL, in folder: URL) throws -> Trial {
        let name = "z\(zero)-\(recompute ? "r" : "n")-\(depth)"
        let config = folder.appendingPathComponent("\(name).yaml"), run = folder.appendingPathComponent(name)
        try Data(self.config(depth: depth, zero: zero, recompute: recompute, data: data).utf8).write(to: config)
        let outcome = TimedChild.run(URL(fileURLWithPath: "/usr/bin/env"),
                                     MPIRunCommand(ranks: ranks).words(running: executable.path, ["train", config.path, "--run-dir", run.path]),
                                     environment: ProcessInfo.processInfo.environment, timeout: timeout)
        func failed(_ reason: String) -> Trial {
            Trial(zero: zero, recompute: recompute, depth: depth, parameters: parameters(depth: depth), peakBytes: [],
                  samplesPerSecond: nil, failure: reason)
        }
        guard outcome.succeeded else { return failed(Self.reason(outcome)) }
        let results = RunResults(directory: run)
        guard let summary = try? results.summary(),
              let peaks = summary.peakResidentBytes else { return failed("no summary.json with peak_resident_bytes in \(run.path)") }
        // One epoch is one step here; an epoch line without its seconds is left out, so the
        // count tells a short file.
        let steps = results.epochs().compactMap { $0.values["seconds"] }
        guard steps.count == batches, let stepTime = SteadyStepTime(stepSeconds: steps, warmUp: warmUpBatches) else {
            return failed("\(run.path)/metrics.jsonl: expected \(batches) epochs of one step each, found \(steps.count) timed")
        }
        try? FileManager.default.removeItem(at: run)
        let over = peaks.max() ?? 0 > budgetBytes
        var trial = Trial(zero: zero, recompute: recompute, depth: depth, parameters: parameters(depth: depth), peakBytes: peaks,
                          samplesPerSecond: summary.samplesPerSecond,
                          failure: over ? "peaked at \(Self.megabytes(peaks.max()!)) on a rank, over the budget of \(Self.megabytes(budgetBytes))" : nil)
        trial.stepTime = stepTime
        return trial
    }

    /// Why a job failed: the deadline, a signal, or its last line of output (mpirun's dashes skipped).
    static func reason(_ outcome: TimedChild.Outcome) -> String {
        if let failure = outcome.startFailure { return failure }
        if outcome.timedOut { return "no end within the deadline" }
        guard let status = outcome.status else { return "killed by a signal" }
        let last = outcome.output.split(separator: "\n").last { !$0.allSatisfy { $0 == "-" || $0 == " " } }
        return last.map(String.init) ?? "exit status \(status)"
    }

    static func megabytes(_ bytes: Int64) -> String { "\(bytes / 1_000_000) MB" }

    /// The result as JSON: every trial and the largest model per setting.
    public func json(_ trials: [Trial]) -> [String: Any] {
        [
            "ranks": ranks, "budget_bytes": budgetBytes, "width": width, "batch_size": batchSize,
            "batches": batches, "warm_up_batches": warmUpBatches,
            "trials": trials.map { trial -> [String: Any] in
                var object: [String: Any] = ["zero": trial.zero, "recompute": trial.recompute, "depth": trial.depth,
                                             "parameters": trial.parameters, "fits": trial.fits, "peak_bytes": trial.peakBytes]
                if let rate = trial.samplesPerSecond { object["samples_per_second"] = rate }
                if let stepTime = trial.stepTime { object.merge(stepTime.json) { $1 } }
                if let failure = trial.failure { object["failure"] = failure }
                return object
            },
            "largest": Self.largest(trials).map { ["zero": $0.zero, "recompute": $0.recompute, "parameters": $0.parameters as Any] },
        ]
    }
}
