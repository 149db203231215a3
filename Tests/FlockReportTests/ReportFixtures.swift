import FlockTestSupport
import Foundation
import Flock

/// Short real training runs on the digits data, as `flock train` makes them.
enum ReportFixtures {
    /// Trains `yaml` (digits, a small MLP, plus the given lines) into `folder/<name>`,
    /// recording it in `folder/flock.sqlite`; returns the run directory.
    @discardableResult
    static func train(_ folder: TemporaryFolder, name: String, _ yaml: String,
                      onEpoch: (EpochRecord) throws -> Void = { _ in }) throws -> URL {
        let config = try ConfigLoader.decode(yaml: """
            name: \(name)
            seed: 3
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 64}
            model:
              - {type: dense, units: 16, activation: relu}
              - {type: dense, units: 10}
            \(yaml)
            """, overrides: [], baseDirectory: "/")
        let run = folder.url.appendingPathComponent(name)
        let training = try TrainingRun(config: config, runDirectory: run.path,
                                       storePath: folder.url.appendingPathComponent("flock.sqlite").path)
        try training.attachConfiguredObservers()
        _ = try training.run(onEpoch: onEpoch)
        return run
    }

    /// The NonFiniteLossTests recipe: the learning rate ×10⁶ every epoch, so epoch 2 diverges
    /// and TerminateOnNaN rolls back (twice) to the checkpoint of epoch 1 with a rate ×10⁻⁶.
    static let rollbackYAML = """
        epochs: 3
        optimizer: {name: sgd, lr: 0.01}
        schedule: {name: step, step_size: 1, gamma: 1000000}
        callbacks: {terminate_on_nan: {action: rollback, lr_factor: 0.000001, max_rollbacks: 3}}
        """

    /// Early stopping that triggers after a few epochs: improvements under 0.05 do not count.
    static let earlyStoppingYAML = """
        epochs: 30
        optimizer: {name: momentum, lr: 0.05}
        callbacks: {early_stopping: {monitor: val_loss, patience: 1, min_delta: 0.05}}
        """
}
