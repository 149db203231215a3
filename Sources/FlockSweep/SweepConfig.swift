import FlockNN
import FlockTrain
import Foundation
import Yams

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
/// ```
public struct SweepConfig: Sendable {
    public enum Launcher: String, Codable, Sendable, CaseIterable {
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
    /// A running trial whose heartbeat is older than this is taken to be lost.
    public let heartbeatTimeout: Double
    /// The sweep file's text, stored with the study.
    public let definition: String

    /// Reads and validates a sweep file; relative paths are taken from its folder.
    public static func load(path: String) throws -> SweepConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(path: "", "\(path): sweep file not found")
        }
        return try parse(text, baseDirectory: URL(fileURLWithPath: path).deletingLastPathComponent().path, fileName: path)
    }

    public static func parse(_ text: String, baseDirectory: String, fileName: String = "sweep") throws -> SweepConfig {
        let root: [String: Any]
        do {
            guard let loaded = try SafeYAML.load(text) as? [String: Any] else {
                throw ConfigError(path: "", "\(fileName): expected a YAML mapping at the top level")
            }
            root = loaded
        } catch let error as ConfigError { throw error } catch {
            throw ConfigError(path: "", "\(fileName): invalid YAML: \(error)")
        }
        let known = ["study", "base", "base_config", "space", "objective", "budget", "sampler", "pruner", "workers",
                     "launcher", "ranks_per_trial", "max_retries", "seed", "heartbeat_timeout", "slurm"]
        if let unknown = root.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigError(path: unknown, "unknown field (expected one of: \(known.joined(separator: ", ")))")
        }
        let reader = FieldReader(root, path: "")
        let study = try reader.string("study")
        guard !study.isEmpty, !study.contains("/") else { throw ConfigError(path: "study", "expected a name without '/'") }
        let seed = try reader.int("seed", default: 0, in: 0...Int.max)

        // The base config: a file, or inline.
        let base: TrainingConfig
        if let path = root["base"] as? String {
            let full = path.hasPrefix("/") ? path : URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).path
            base = try ConfigLoader.load(path: full)
        } else if let inline = root["base_config"] {
            base = try ConfigLoader.decode(yaml: try Yams.dump(object: inline), baseDirectory: baseDirectory, fileName: "\(fileName) base_config")
        } else {
            throw ConfigError(path: "base", "a sweep needs `base: CONFIG.yaml` or an inline `base_config:`")
        }

        guard let entries = root["space"] as? [Any], !entries.isEmpty else {
            throw ConfigError(path: "space", "expected a list of parameters")
        }
        var parameters: [ParameterSpec] = []
        for (index, entry) in entries.enumerated() {
            parameters.append(try parameter(entry, path: "space[\(index)]", earlier: parameters))
        }
        let space = SearchSpace(parameters)
        // Refused before anything enumerates it (a grid over 0...10^12 would run for hours).
        if let size = space.gridSizeBound(), size > Double(SearchSpace.maximumGridSize) {
            throw ConfigError(path: "space", "a grid of up to \(Self.format(size)) combinations is too large to enumerate (at most \(SearchSpace.maximumGridSize)); narrow the int ranges or raise their step")
        }

        let objective = FieldReader(root["objective"] as? [String: Any] ?? [:], path: "objective")
        try objective.rejectUnknown(["metric", "direction", "use"])
        let metric = try objective.string("metric", default: "val_loss")
        let direction = try objective.string("direction", default: "minimize")
        try objective.check(direction, among: ["minimize", "maximize"], field: "direction")
        let use = try objective.string("use", default: "best")
        try objective.check(use, among: ["best", "final"], field: "use")
        let monitorable = ["loss"] + base.resolvedMetrics.map(\.rawValue)
        let allowed = monitorable + (base.data.validationSplit > 0 ? monitorable.map { "val_\($0)" } : [])
        try objective.check(metric, among: allowed, field: "metric")

        let budget = FieldReader(root["budget"] as? [String: Any] ?? [:], path: "budget")
        try budget.rejectUnknown(["trials", "wall_seconds"])
        let trials = try budget.optionalInt("trials", in: 1...1_000_000)
        let wall = try budget.optionalDouble("wall_seconds")
        // A year: a finite number, so a NaN or infinite budget cannot keep a driver going forever.
        if let wall { try Check.positive(wall, atMost: 31_536_000, "budget.wall_seconds") }
        if trials == nil && wall == nil && space.grid() == nil {
            throw ConfigError(path: "budget", "give trials and/or wall_seconds (only a finite grid can run without a budget)")
        }

        let samplerReader = FieldReader(root["sampler"] as? [String: Any] ?? ["name": "tpe"], path: "sampler")
        try samplerReader.rejectUnknown(["name", "startup_trials", "candidates"])
        let samplerName = try samplerReader.string("name", default: "tpe")
        try samplerReader.check(samplerName, among: ["grid", "random", "tpe", "gp", "auto"], field: "name")
        let sampler: any Sampler
        let model = samplerName != "auto" ? samplerName
            : SamplerChoice.prefersGaussianProcess(space: space, trialBudget: trials) ? "gp" : "tpe"
        switch model {
        case "grid":
            guard space.grid() != nil else {
                throw ConfigError(path: "sampler.name", "grid needs every parameter to be int or categorical (a float range has no grid)")
            }
            sampler = GridSampler()
        case "random": sampler = RandomSampler(seed: UInt64(seed))
        default:
            let gp = model == "gp"
            let startup = try samplerReader.int("startup_trials", default: gp ? 10 : 5, in: 0...1_000_000)
            let candidates = try samplerReader.int("candidates", default: gp ? 2048 : 100, in: 1...100_000)
            sampler = gp ? GPSampler(seed: UInt64(seed), startupTrials: startup, candidates: candidates)
                         : TPESampler(seed: UInt64(seed), startupTrials: startup, candidates: candidates)
        }

        let prunerReader = FieldReader(root["pruner"] as? [String: Any] ?? ["name": "none"], path: "pruner")
        try prunerReader.rejectUnknown(["name", "startup_trials", "warmup_steps", "min_resource", "reduction_factor", "max_resource"])
        let prunerName = try prunerReader.string("name", default: "none")
        try prunerReader.check(prunerName, among: ["none", "median", "asha", "hyperband"], field: "name")
        // Resources are epochs (at most 10^6) and η ≤ 1000, so rung steps never overflow.
        let minResource = try prunerReader.int("min_resource", default: 1, in: 1...1_000_000)
        let factor = try prunerReader.int("reduction_factor", default: 3, in: 2...1000)
        let pruner: any Pruner
        switch prunerName {
        case "median":
            pruner = MedianPruner(startupTrials: try prunerReader.int("startup_trials", default: 5, in: 0...1_000_000),
                                  warmupSteps: try prunerReader.int("warmup_steps", default: 0, in: 0...1_000_000))
        case "asha": pruner = SuccessiveHalvingPruner(minResource: minResource, reductionFactor: factor)
        case "hyperband":
            let maxResource = try prunerReader.int("max_resource", default: max(base.epochs, minResource),
                                                   in: minResource...1_000_000)
            pruner = HyperbandPruner(minResource: minResource, maxResource: maxResource, reductionFactor: factor)
        default: pruner = NoPruner()
        }

        let workers = try reader.int("workers", default: 1, in: 1...1024)
        let launcherName = try reader.string("launcher", default: "in_process")
        try reader.check(launcherName, among: Launcher.allCases.map(\.rawValue), field: "launcher")
        let launcher = Launcher(rawValue: launcherName)!
        let ranks = try reader.int("ranks_per_trial", default: 1, in: 1...4096)
        if ranks > 1 && launcher != .mpirun && launcher != .slurm {
            throw ConfigError(path: "ranks_per_trial", "more than one rank per trial needs launcher: mpirun or slurm")
        }
        let slurm = try SlurmOptions.parse(root["slurm"], launcher: launcher)
        let retries = try reader.int("max_retries", default: 1, in: 0...1000)
        let heartbeat = try reader.double("heartbeat_timeout", default: 30)
        try Check.positive(heartbeat, atMost: 864_000, "heartbeat_timeout")

        let config = SweepConfig(study: study, base: base, space: space, metric: metric, maximize: direction == "maximize",
                                 useBestEpoch: use == "best", trialBudget: trials, wallSeconds: wall, sampler: sampler,
                                 pruner: pruner, workers: workers, launcher: launcher, ranksPerTrial: ranks, slurm: slurm,
                                 maxRetries: retries, heartbeatTimeout: heartbeat, definition: text)
        // Every parameter must land on a real config field with a valid value: try the
        // extremes of each domain on the base config now, not in trial 17.
        for parameter in parameters {
            for value in Self.probeValues(parameter) {
                do { _ = try config.trialConfig([parameter.name: value]) } catch let error as ConfigError {
                    throw ConfigError(path: "space[\(parameters.firstIndex(of: parameter)!)]",
                                      "\(parameter.name)=\(value) does not make a valid training config: \(error)")
                }
            }
        }
        return config
    }

    /// The training config of a trial: the base with each parameter set by its key path.
    public func trialConfig(_ params: [String: ParameterValue]) throws -> TrainingConfig {
        let yaml = try ConfigLoader.yaml(of: base)
        return try ConfigLoader.decode(yaml: yaml, overrides: Self.overrides(params), baseDirectory: "/")
    }

    /// `key=value` overrides, in a stable order.
    public static func overrides(_ params: [String: ParameterValue]) -> [String] {
        params.keys.sorted().map { "\($0)=\(params[$0]!)" }
    }

    private static func probeValues(_ parameter: ParameterSpec) -> [ParameterValue] {
        switch parameter.domain {
        case let .float(low, high, _): return [.double(low), .double(high)]
        case let .int(low, high, _, _): return [.int(low), .int(high)]
        case let .categorical(choices): return choices
        }
    }

    private static func parameter(_ entry: Any, path: String, earlier: [ParameterSpec]) throws -> ParameterSpec {
        guard let fields = entry as? [String: Any] else { throw ConfigError(path: path, "expected a mapping") }
        let reader = FieldReader(fields, path: path)
        try reader.rejectUnknown(["name", "type", "low", "high", "log", "step", "choices", "when"])
        let name = try reader.string("name")
        if earlier.contains(where: { $0.name == name }) { throw ConfigError(path: "\(path).name", "'\(name)' appears twice") }
        let type = try reader.string("type")
        try reader.check(type, among: ["float", "int", "categorical"], field: "type")
        let log = try reader.bool("log", default: false)
        let domain: ParameterSpec.Domain
        switch type {
        case "float":
            let low = try reader.double("low"), high = try reader.double("high")
            guard low.isFinite, high.isFinite else {
                throw ConfigError(path: "\(path).\(low.isFinite ? "high" : "low")", "expected a finite number, got \(low.isFinite ? high : low)")
            }
            guard low < high else { throw ConfigError(path: "\(path).high", "expected high > low, got \(low)…\(high)") }
            if log && low <= 0 { throw ConfigError(path: "\(path).low", "a log range needs low > 0, got \(low)") }
            domain = .float(low: low, high: high, log: log)
        case "int":
            // ±2^53: every value is exact as a Double, which samplers compute in.
            let limit = 1 << 53
            let low = try reader.int("low", in: -limit...limit), high = try reader.int("high", in: -limit...limit)
            let step = try reader.int("step", default: 1, in: 1...(2 * limit))
            guard low <= high else { throw ConfigError(path: "\(path).high", "expected high ≥ low, got \(low)…\(high)") }
            guard step > 0 else { throw ConfigError(path: "\(path).step", "expected a positive integer, got \(step)") }
            if log && (low <= 0 || step != 1) { throw ConfigError(path: "\(path).log", "a log int range needs low > 0 and step 1") }
            domain = .int(low: low, high: high, step: step, log: log)
        default:
            guard let choices = fields["choices"] as? [Any], !choices.isEmpty else {
                throw ConfigError(path: "\(path).choices", "expected a non-empty list")
            }
            domain = .categorical(choices.map(Self.value))
        }
        var conditions: [String: [ParameterValue]] = [:]
        if let when = fields["when"] {
            guard let mapping = when as? [String: Any] else { throw ConfigError(path: "\(path).when", "expected a mapping") }
            for (key, allowed) in mapping {
                guard earlier.contains(where: { $0.name == key }) else {
                    throw ConfigError(path: "\(path).when.\(key)", "conditions may only name parameters listed before this one")
                }
                conditions[key] = (allowed as? [Any] ?? [allowed]).map(Self.value)
            }
        }
        return ParameterSpec(name: name, domain: domain, conditions: conditions)
    }

    /// `1e+12` as `1000000000000`, up to what an Int holds.
    private static func format(_ size: Double) -> String {
        size < 9e18 ? String(Int(size)) : String(format: "%.3g", size)
    }

    private static func value(_ any: Any) -> ParameterValue {
        if let int = any as? Int { return .int(int) }
        if let double = any as? Double { return .double(double) }
        if let bool = any as? Bool { return .string(bool ? "true" : "false") }
        return .string("\(any)")
    }
}

/// Typed field access on a YAML mapping, with errors naming `path.field`.
struct FieldReader {
    let fields: [String: Any]
    let path: String

    init(_ fields: [String: Any], path: String) {
        self.fields = fields
        self.path = path
    }

    private func at(_ field: String) -> String { path.isEmpty ? field : "\(path).\(field)" }

    func rejectUnknown(_ known: [String]) throws {
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigError(path: at(unknown), "unknown field (expected one of: \(known.joined(separator: ", ")))")
        }
    }

    func string(_ field: String, default fallback: String? = nil) throws -> String {
        guard let value = fields[field] else {
            if let fallback { return fallback }
            throw ConfigError(path: at(field), "required field is missing")
        }
        guard let text = value as? String else { throw ConfigError(path: at(field), "expected a string, got \(value)") }
        return text
    }

    func int(_ field: String, default fallback: Int? = nil) throws -> Int {
        guard let value = fields[field] else {
            if let fallback { return fallback }
            throw ConfigError(path: at(field), "required field is missing")
        }
        guard let number = value as? Int else { throw ConfigError(path: at(field), "expected an integer, got \(value)") }
        return number
    }

    /// An integer within `range`, with the range in the error.
    func int(_ field: String, default fallback: Int? = nil, in range: ClosedRange<Int>) throws -> Int {
        let number = try int(field, default: fallback)
        guard range.contains(number) else {
            let bounds = range.upperBound == Int.max ? "≥ \(range.lowerBound)" : "in \(range.lowerBound)...\(range.upperBound)"
            throw ConfigError(path: at(field), "expected an integer \(bounds), got \(number)")
        }
        return number
    }

    func optionalInt(_ field: String, in range: ClosedRange<Int>) throws -> Int? {
        fields[field] == nil ? nil : try int(field, in: range)
    }

    func double(_ field: String, default fallback: Double? = nil) throws -> Double {
        guard let value = fields[field] else {
            if let fallback { return fallback }
            throw ConfigError(path: at(field), "required field is missing")
        }
        if let number = value as? Double { return number }
        if let number = value as? Int { return Double(number) }
        throw ConfigError(path: at(field), "expected a number, got \(value)")
    }

    func optionalDouble(_ field: String) throws -> Double? { fields[field] == nil ? nil : try double(field) }

    func bool(_ field: String, default fallback: Bool) throws -> Bool {
        guard let value = fields[field] else { return fallback }
        guard let flag = value as? Bool else { throw ConfigError(path: at(field), "expected true or false, got \(value)") }
        return flag
    }

    func check(_ value: String, among allowed: [String], field: String) throws {
        guard allowed.contains(value) else {
            throw ConfigError(path: at(field), "unknown value '\(value)' (expected one of: \(allowed.joined(separator: ", ")))")
        }
    }
}
