import Foundation

/// `flock train` as a library call: everything that can fail on bad input (config,
/// data, model shape) is checked before the run directory is created, so a bad job
/// leaves nothing behind.
public struct TrainingRun {
    public let trainer: Trainer
    public let directory: RunDirectory

    /// - Parameters:
    ///   - runDirectory: where outputs go; default `runs/<name>-<time>`.
    public init(config: TrainingConfig, runDirectory: String? = nil) throws {
        trainer = try Trainer(config: config)
        let yaml = try ConfigLoader.yaml(of: config)
        directory = try RunDirectory(path: runDirectory ?? RunDirectory.defaultPath(name: config.name))
        try directory.writeConfig(yaml)
    }

    /// Trains, appending each epoch to `metrics.jsonl`, then writes `summary.json`.
    public func run(onEpoch: (EpochRecord) -> Void = { _ in }) throws -> TrainingSummary {
        var writeError: (any Error)?
        let summary = trainer.fit { record in
            do { try directory.appendMetrics(record) } catch { writeError = writeError ?? error }
            onEpoch(record)
        }
        if let writeError { throw writeError }
        try directory.writeSummary(summary)
        return summary
    }
}
