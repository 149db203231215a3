import FlockNN
import FlockTrain
import Foundation

/// A sweep file: the base training config, the search space, the objective and how to
/// run the study. Validated up front like training configs, with field paths in errors.
///
/// ```yaml
/// study: digits-tpe
/// base: digits-mlp.yaml
/// space:
///   - {name: optimizer.lr, type: float, low: 0.0001, high: 0.01, log: true}
///   - {name: optimizer.name, type: categorical, choices: [adam, momentum]}
///   - {name: optimizer.momentum, type: float, low: 0.5, high: 0.99, when: {optimizer.name: [momentum]}}
/// objective: {metric: val_accuracy, direction: maximize}
/// budget: {trials: 20}
/// sampler: {name: tpe}
/// pruner: {name: asha, min_resource: 1, reduction_factor: 3}
/// warm_start: {optuna_storage: sqlite:///earlier.db, study: digits-lr}
/// ```
public struct SweepConfig: Sendable {
    public enum Launcher: String, ConfigChoice {
        case inProcess = "in_process", subprocess, mpirun, slurm
    }

    public let study: String
    /// The base training config, resolved (data paths absolute).
    public let base: TrainingConfig
    public let space: SearchSpace
    public let metric: String
    public let maximize: Bool
    /// Use the best value over epochs (true) or the last epoch's.
    public let useBestEpoch: Bool
    public let trialBudget: Int?
    public let wallSeconds: Double?
    public let sampler: any Sampler
    public let pruner: any Pruner
    public let workers: Int
    public let launcher: Launcher
    public let ranksPerTrial: Int
    /// How trials are submitted with `launcher: slurm` (defaults otherwise).
    public let slurm: SlurmOptions
    public let maxRetries: Int
    /// With `launcher: mpirun` or `slurm`: each trial is a supervised job (`flock train --np K
    /// --max-restarts N`) that relaunches on the ranks left when one dies; nil: a plain
    /// `mpirun -np K` job, which a lost rank ends (and `max_retries` retries from its checkpoint).
    public let maxRestartsPerTrial: Int?
    /// A running trial whose heartbeat is older than this is taken to be lost.
    public let heartbeatTimeout: Double
    /// The sweep file's text, stored with the study.
    public let definition: String
    /// The Optuna study whose finished trials the sampler is told first (`warm_start:`).
    public let warmStart: WarmStartSource?

    /// Reads and validates a sweep file; relative paths are taken from its folder.
    /// `samplers` and `pruners` are the kinds `sampler.name` and `pruner.name` may pick
    /// (add your own to them).
    public static func load(path: String, samplers: SamplerRegistry = .standard,
                            pruners: PrunerRegistry = .standard) throws -> SweepConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(path: "", "\(path): sweep file not found")
        }
        return try parse(text, baseDirectory: URL(fileURLWithPath: path).deletingLastPathComponent().path, fileName: path,
                         samplers: samplers, pruners: pruners)
    }

    /// Decodes and checks a sweep file (the types in `SweepFile`), loads its base config,
    /// and sets each parameter's extreme values on the base to catch a path that is not a
    /// settable field, or a value the training config refuses, before any trial runs.
    public static func parse(_ text: String, baseDirectory: String, fileName: String = "sweep",
                             samplers: SamplerRegistry = .standard, pruners: PrunerRegistry = .standard) throws -> SweepConfig {
        let file = try ConfigLoader.decode(SweepFile.self, yaml: text, fileName: fileName,
                                           userInfo: [.samplerRegistry: samplers, .prunerRegistry: pruners])
        let base = try file.loadBase(baseDirectory: baseDirectory)
        let space = SearchSpace(file.space)
        // Refused before anything enumerates it (a grid over 0...10^12 would run for hours).
        if let size = space.gridSizeBound(), size > Double(SearchSpace.maximumGridSize) {
            throw ConfigError(path: "space", "a grid of up to \(Self.format(size)) combinations is too large to enumerate (at most \(SearchSpace.maximumGridSize)); narrow the int ranges or raise their step")
        }
        try Check.oneOf(file.objective.metric, MonitorMode.monitorable(base), "objective.metric")
        if file.budget.trials == nil && file.budget.wallSeconds == nil && space.grid() == nil {
            throw ConfigError(path: "budget", "give trials and/or wall_seconds (only a finite grid can run without a budget)")
        }
        let sampler = try file.sampler.make(space: space, trialBudget: file.budget.trials, seed: file.seed)
        if file.ranksPerTrial > 1 && file.launcher != .mpirun && file.launcher != .slurm {
            throw ConfigError(path: "ranks_per_trial", "more than one rank per trial needs launcher: mpirun or slurm")
        }
        if file.maxRestartsPerTrial != nil && file.launcher != .mpirun && file.launcher != .slurm {
            throw ConfigError(path: "max_restarts_per_trial", "supervised trials need launcher: mpirun or slurm (launcher is \(file.launcher.rawValue))")
        }
        if file.slurm != nil && file.launcher != .slurm {
            throw ConfigError(path: "slurm", "only used with launcher: slurm (launcher is \(file.launcher.rawValue))")
        }
        // Every parameter must be a settable field, and its extremes valid values: found now, not in trial 17.
        for (index, parameter) in file.space.enumerated() {
            for value in Self.probeValues(parameter) {
                do { _ = try base.setting([parameter.name: value]) } catch let error as ConfigError {
                    throw ConfigError(path: "space[\(index)]", "\(parameter.name)=\(value) does not make a valid training config: \(error)")
                }
            }
        }
        return SweepConfig(study: file.study, base: base, space: space, metric: file.objective.metric,
                           maximize: file.objective.direction == .maximize, useBestEpoch: file.objective.use == .best,
                           trialBudget: file.budget.trials, wallSeconds: file.budget.wallSeconds, sampler: sampler,
                           pruner: file.pruner.make(epochs: base.epochs), workers: file.workers, launcher: file.launcher,
                           ranksPerTrial: file.ranksPerTrial, slurm: file.slurm ?? SlurmOptions(), maxRetries: file.maxRetries,
                           maxRestartsPerTrial: file.maxRestartsPerTrial, heartbeatTimeout: file.heartbeatTimeout, definition: text,
                           warmStart: file.warmStart?.resolved(baseDirectory: baseDirectory))
    }

    /// The training config of a trial: the base with each parameter set on its field by
    /// path (`TrainingConfig.set(_:to:)`), every other field kept as decoded, except
    /// `callbacks.mlflow`: the driver tracks the study and its trials itself (`SweepTracking`).
    public func trialConfig(_ params: [String: ParameterValue]) throws -> TrainingConfig {
        var config = try base.setting(params)
        config.callbacks.mlflow = nil
        return config
    }

    /// Writes a trial's config (`trialConfig`) beside its run directory as
    /// `trials/NNNN.yaml`, for a trial started as `flock train FILE`; returns the file.
    func writeTrialConfig(_ trial: TrialAssignment) throws -> URL {
        let file = trial.sibling("yaml")
        try AtomicFile.write(Data(try ConfigLoader.yaml(of: try trialConfig(trial.params)).utf8), to: file)
        return file
    }

    private static func probeValues(_ parameter: ParameterSpec) -> [ParameterValue] {
        switch parameter.domain {
        case let .float(low, high, _): return [.double(low), .double(high)]
        case let .int(low, high, _, _): return [.int(low), .int(high)]
        case let .categorical(choices): return choices
        }
    }

    /// `1e+12` as `1000000000000`, up to what an Int holds.
    private static func format(_ size: Double) -> String {
        size < 9e18 ? String(Int(size)) : String(format: "%.3g", size)
    }
}
