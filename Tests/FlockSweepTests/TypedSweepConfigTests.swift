import FlockTestSupport
import FlockTrain
import Foundation
import Testing
@testable import FlockSweep

/// The sweep file is decoded into typed config sections with field-path errors, and a
/// trial's config is its base with typed values set on their fields: nothing of the base
/// is lost on the way, and a parameter that names no settable field is refused when the
/// sweep is loaded.
@Suite struct TypedSweepConfigTests {
    /// A base config with every optional field and callback set away from its default.
    static let fullBase = """
        base_config:
          name: full
          seed: 3
          epochs: 4
          data: {source: \(ChildProcess.digitsCSV), label_column: label, validation_split: 0.25, batch_size: 16, shuffle: false, normalization: minmax}
          model:
            - {type: dense, units: 12, activation: tanh, use_bias: false}
            - {type: dropout, rate: 0.1}
            - {type: dense, units: 10, lr_multiplier: 0.5}
          loss: {name: cross_entropy, label_smoothing: 0.05}
          optimizer: {name: momentum, lr: 0.02, momentum: 0.8, weight_decay: 0.001}
          schedule: {name: step, step_size: 2, gamma: 0.5, warmup_epochs: 1}
          metrics: [accuracy, f1]
          regularization: {l1: 0.0001, l2: 0.001, max_norm: 3.0, weight_noise: 0.01}
          gradient_clipping: {max_norm: 5.0, max_value: 1.0}
          callbacks:
            early_stopping: {monitor: val_accuracy, patience: 2, min_delta: 0.001, restore_best_weights: true}
            reduce_lr_on_plateau: {factor: 0.5, patience: 1}
            model_checkpoint: {monitor: val_f1, save_best: 2}
            terminate_on_nan: {action: rollback, lr_factor: 0.25}
            csv_logger: true
            tensorboard: true
        """

    func parse(space: String, base: String = fullBase, extra: String = "") throws -> SweepConfig {
        try SweepConfig.parse("""
            study: typed
            \(base)
            space:
            \(space)
            budget: {trials: 4}
            \(extra)
            """, baseDirectory: "/")
    }

    func message(space: String = "  - {name: optimizer.lr, type: float, low: 0.001, high: 0.1}",
                 base: String = fullBase, extra: String = "") -> String {
        do { _ = try parse(space: space, base: base, extra: extra); return "no error" } catch { return "\(error)" }
    }

    @Test func aTrialsConfigKeepsEveryFieldOfTheBaseAndChangesOnlyItsParameters() throws {
        let sweep = try parse(space: """
              - {name: optimizer.lr, type: float, low: 0.001, high: 0.1, log: true}
              - {name: "model[0].units", type: int, low: 8, high: 32}
              - {name: "model[1].rate", type: float, low: 0.0, high: 0.5}
              - {name: callbacks.early_stopping.patience, type: int, low: 1, high: 5}
              - {name: data.shuffle, type: categorical, choices: [true, false]}
            """)
        #expect(sweep.base.callbacks.tensorBoard && sweep.base.callbacks.csvLogger)
        let trial = try sweep.trialConfig(["optimizer.lr": .double(0.005), "model[0].units": .int(24), "model[1].rate": .double(0.3),
                                           "callbacks.early_stopping.patience": .int(4), "data.shuffle": .string("true")])
        var expected = sweep.base
        expected.optimizer.lr = 0.005
        expected.model[0] = .dense(units: 24, activation: .tanh, useBias: false)
        expected.model[1] = .dropout(rate: 0.3)
        expected.callbacks.earlyStopping?.patience = 4
        expected.data.shuffle = true
        #expect(trial.callbacks.tensorBoard, "callbacks.tensorboard: true of the base is lost")
        #expect(trial.callbacks.csvLogger)
        #expect(trial.model[2].learningRateMultiplier == 0.5)
        #expect(trial == expected)
        // The parameters not given keep the base's values.
        #expect(try sweep.trialConfig([:]) == sweep.base)
    }

    /// `launcher: subprocess` (and `mpirun`, `slurm`): the trial's own config, made the
    /// typed way, is written beside its run directory and `flock train` reads it with no
    /// `--set` overrides.
    @Test func aTrialStartedAsAProcessReadsItsOwnConfigFileWithoutOverrides() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // tensorboard: false here: the YAML encoder on this branch still drops `tensorboard: true`.
        let sweep = try parse(space: """
              - {name: optimizer.lr, type: float, low: 0.001, high: 0.1, log: true}
              - {name: "model[0].units", type: int, low: 8, high: 32}
            """, base: Self.fullBase.replacingOccurrences(of: "tensorboard: true", with: "tensorboard: false"),
            extra: "launcher: subprocess")
        let params: [String: ParameterValue] = ["optimizer.lr": .double(0.004), "model[0].units": .int(20)]
        let trials = folder.url.appendingPathComponent("trials")
        try FileManager.default.createDirectory(at: trials, withIntermediateDirectories: true)
        let trial = TrialAssignment(study: "typed", number: 3, params: params, runDirectory: trials.appendingPathComponent("0003"), resume: false)
        let job = try CommandRunner(sweep: sweep, storePath: folder.url.appendingPathComponent("s.sqlite").path,
                                    executable: URL(fileURLWithPath: "/bin/flock"), mpiRanks: nil).job(trial)
        #expect(job.overrides.isEmpty)
        #expect(job.configPath == trials.appendingPathComponent("0003.yaml").path)
        #expect(try ConfigLoader.load(path: job.configPath) == sweep.trialConfig(params))
    }

    @Test func aParameterThatNamesNoSettableFieldIsRefusedWhenTheSweepLoads() {
        #expect(message(space: "  - {name: optimiser.lr, type: float, low: 0.001, high: 0.1}")
                .hasPrefix("space[0]: optimiser.lr=0.001 does not make a valid training config: optimiser.lr: not a field that can be set (expected one of: model[i].<field>, "))
        #expect(message(space: "  - {name: optimizer.learning_rate, type: float, low: 0.001, high: 0.1}")
                == "space[0]: optimizer.learning_rate=0.001 does not make a valid training config: optimizer.learning_rate: not a field of optimizer 'momentum' (expected one of: momentum)")
        #expect(message(space: "  - {name: \"model[3].units\", type: int, low: 1, high: 4}")
                == "space[0]: model[3].units=1 does not make a valid training config: model[3]: the model has 3 layers")
        #expect(message(space: "  - {name: \"model[0].unitz\", type: int, low: 1, high: 4}")
                .hasPrefix("space[0]: model[0].unitz=1 does not make a valid training config: model[0].unitz: not a field of a dense layer"))
        // Setting a field of a callback the base leaves off would silently turn it on.
        #expect(message(space: "  - {name: callbacks.reduce_lr_on_plateau.patience, type: int, low: 1, high: 4}",
                        base: "base_config: {data: {source: \(ChildProcess.digitsCSV), label_column: label}, model: [{type: dense, units: 10}]}")
                == "space[0]: callbacks.reduce_lr_on_plateau.patience=1 does not make a valid training config: callbacks.reduce_lr_on_plateau.patience: callbacks.reduce_lr_on_plateau is off in this config; turn it on there to set its fields")
    }

    @Test func aValueOfTheWrongTypeForItsFieldIsAnErrorNamingBoth() {
        #expect(message(space: "  - {name: epochs, type: float, low: 1, high: 5}")
                == "space[0]: epochs=1.0 does not make a valid training config: epochs: expected an integer, got 1.0")
        #expect(message(space: "  - {name: optimizer.name, type: categorical, choices: [adam, 3]}")
                == "space[0]: optimizer.name=3 does not make a valid training config: optimizer.name: unknown optimizer '3' (expected one of: sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw)")
        #expect(message(space: "  - {name: \"model[0].units\", type: float, low: 8, high: 32}")
                == "space[0]: model[0].units=8.0 does not make a valid training config: model[0].units: expected an integer, got 8.0")
        #expect(message(space: "  - {name: data.shuffle, type: categorical, choices: [true, sometimes]}")
                == "space[0]: data.shuffle=sometimes does not make a valid training config: data.shuffle: expected true or false, got sometimes")
    }

    @Test func badSweepFilesNameTheFieldTheirTypeAndTheAllowedValues() {
        #expect(message(extra: "pruner: {name: sha}") == "pruner.name: unknown value 'sha' (expected one of: none, median, asha, hyperband)")
        #expect(message(extra: "objective: {metric: val_f1, use: last}") == "objective.use: unknown value 'last' (expected one of: best, final)")
        #expect(message(extra: "launcher: local") == "launcher: unknown value 'local' (expected one of: in_process, subprocess, mpirun, slurm)")
        #expect(message(space: "  - {name: optimizer.lr, type: real, low: 0.001, high: 0.1}")
                == "space[0].type: unknown value 'real' (expected one of: float, int, categorical)")
        #expect(message(extra: "workers: two") == "workers: expected an integer, got two")
        #expect(message(extra: "heartbeat_timeout: [30]") == "heartbeat_timeout: expected a single value, not a list or mapping")
        #expect(message(extra: "sampler: tpe") == "sampler: expected a mapping, got tpe")
        #expect(message(space: "  - {name: seed, type: int, low: 0, high: 3, when: [optimizer.lr]}")
                == "space[0].when: expected a mapping")
        #expect(message(space: "  - {name: optimizer.lr, type: float, low: small, high: 0.1}") == "space[0].low: expected a number, got small")
        // The inline base is checked with the sweep file's paths.
        #expect(message(base: "base_config: {data: {source: \(ChildProcess.digitsCSV), label_column: label}, model: [{type: dense, units: 0}]}")
                == "base_config.model[0].units: expected a positive integer, got 0")
        #expect(message(base: "base_config: {data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 0}, model: [{type: dense, units: 4}]}")
                == "base_config.data.batch_size: expected an integer in 1...16777216, got 0")
        #expect(message(base: "base: other.yaml\n" + Self.fullBase) == "base_config: give `base: CONFIG.yaml` or an inline `base_config:`, not both")
    }
}
