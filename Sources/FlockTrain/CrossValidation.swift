import FlockComm
import FlockNN
import FlockStore
import Foundation

/// k-fold cross-validation: the same job K times, fold i held out for validation in run
/// i (`<run>/fold-i`), and each final metric's mean and spread over the folds
/// (`<run>/kfold.json`, rank 0).
public struct CrossValidation {
    /// Per metric: the final value of each fold, their mean and standard deviation.
    public struct Summary: Sendable, Equatable, CustomStringConvertible {
        public let folds: Int
        public let values: [String: [Double]]

        public func mean(_ metric: String) -> Double {
            let all = values[metric] ?? []
            return all.reduce(0, +) / Double(max(all.count, 1))
        }

        /// Sample standard deviation (n − 1) over the folds.
        public func spread(_ metric: String) -> Double {
            let all = values[metric] ?? [], average = mean(metric)
            guard all.count > 1 else { return 0 }
            return (all.reduce(0) { $0 + ($1 - average) * ($1 - average) } / Double(all.count - 1)).squareRoot()
        }

        public var description: String {
            values.keys.sorted().map { metric in
                String(format: "%@ %.4f ± %.4f", metric, mean(metric), spread(metric))
                    + " (" + values[metric]!.map { String(format: "%.4f", $0) }.joined(separator: ", ") + ")"
            }.joined(separator: "\n")
        }

        var json: [String: Any] {
            ["folds": folds, "metrics": Dictionary(uniqueKeysWithValues: values.keys.map { metric in
                (metric, ["values": values[metric]!, "mean": mean(metric), "std": spread(metric)] as [String: Any])
            })]
        }
    }

    /// Runs the K folds of `config` under `runDirectory`; `onFold` sees each fold's run
    /// before it trains (to hook progress). Collective with a communicator.
    public static func run(_ config: TrainingConfig, folds: Int, runDirectory: String, communicator: (any Communicator)? = nil,
                           storePath: String? = nil, onFold: (Int, TrainingRun) throws -> Void = { _, _ in }) throws -> Summary {
        guard folds >= 2 else { throw ConfigError(path: "--kfold", "expected at least 2 folds, got \(folds)") }
        var values: [String: [Double]] = [:]
        for fold in 0..<folds {
            var foldConfig = config
            foldConfig.data.fold = FoldConfig(index: fold, count: folds)
            let run = try TrainingRun(config: foldConfig, runDirectory: "\(runDirectory)/fold-\(fold)", communicator: communicator,
                                      storePath: storePath)
            try onFold(fold, run)
            let summary = try run.run()
            for (metric, value) in summary.final where metric.hasPrefix("val_") { values[metric, default: []].append(value) }
        }
        let summary = Summary(folds: folds, values: values)
        if (communicator?.rank ?? 0) == 0 {
            let data = try FlockJSON.data(summary.json, pretty: true)
            try AtomicFile.write(data, to: URL(fileURLWithPath: runDirectory).appendingPathComponent("kfold.json"))
        }
        return summary
    }
}
