import FlockNN
import FlockTrain

/// A sweep file as written, decoded like a training config: unknown fields, wrong types,
/// out-of-range numbers and unknown choices or kinds are errors by field path
/// (`sampler.name: unknown value 'bayes' (expected one of: grid, random, tpe, gp, auto)`).
/// `SweepConfig.parse` builds the study from it once the base config is loaded.
struct SweepFile: Decodable {
    let study: String
    let seed: Int
    /// `base: CONFIG.yaml`, relative to the sweep file's folder.
    let baseFile: String?
    /// `base_config:` inline, decoded but not yet validated or resolved.
    let baseConfig: TrainingConfig?
    let space: [ParameterSpec]
    let objective: Objective
    let budget: Budget
    /// The kind `sampler.name` picks in `userInfo[.samplerRegistry]` (default tpe).
    let sampler: any SamplerSpec
    /// The kind `pruner.name` picks in `userInfo[.prunerRegistry]` (default none).
    let pruner: any PrunerSpec
    let workers: Int
    let launcher: SweepConfig.Launcher
    let ranksPerTrial: Int
    let slurm: SlurmOptions?
    let maxRetries: Int
    /// Trials run as supervised jobs (`flock train --np K --max-restarts N`) that heal a lost rank.
    let maxRestartsPerTrial: Int?
    let heartbeatTimeout: Double
    /// `warm_start: {optuna_storage: sqlite:///FILE, study: NAME}`, the path as written.
    let warmStart: WarmStartFile?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case study, base
        case baseConfig = "base_config"
        case space, objective, budget, sampler, pruner, workers, launcher
        case ranksPerTrial = "ranks_per_trial"
        case maxRetries = "max_retries"
        case maxRestartsPerTrial = "max_restarts_per_trial"
        case seed
        case heartbeatTimeout = "heartbeat_timeout"
        case slurm
        case warmStart = "warm_start"
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        study = try c.decode(String.self, forKey: .study)
        guard !study.isEmpty, !study.contains("/") else { throw ConfigError(path: "study", "expected a name without '/'") }
        seed = try c.int(.seed, or: 0, in: 0...Int.max)
        baseFile = try c.decodeIfPresent(String.self, forKey: .base)
        baseConfig = try c.decodeIfPresent(TrainingConfig.self, forKey: .baseConfig)
        if baseFile != nil && baseConfig != nil {
            throw ConfigError(path: "base_config", "give `base: CONFIG.yaml` or an inline `base_config:`, not both")
        }
        guard let space = try c.decodeIfPresent([ParameterSpec].self, forKey: .space), !space.isEmpty else {
            throw ConfigError(path: "space", "expected a list of parameters")
        }
        for (index, parameter) in space.enumerated() {
            let earlier = space[..<index]
            if earlier.contains(where: { $0.name == parameter.name }) {
                throw ConfigError(path: "space[\(index)].name", "'\(parameter.name)' appears twice")
            }
            if let key = parameter.conditions.keys.sorted().first(where: { key in !earlier.contains { $0.name == key } }) {
                throw ConfigError(path: "space[\(index)].when.\(key)", "conditions may only name parameters listed before this one")
            }
        }
        self.space = space
        objective = try c.value(.objective, or: Objective())
        budget = try c.value(.budget, or: Budget())
        let samplers = decoder.userInfo[.samplerRegistry] as? SamplerRegistry ?? .standard
        sampler = try c.section(.sampler).map { try samplers.kind(namedIn: $0, default: TPESamplerSpec.typeName).init(from: $0) }
            ?? TPESamplerSpec()
        let pruners = decoder.userInfo[.prunerRegistry] as? PrunerRegistry ?? .standard
        pruner = try c.section(.pruner).map { try pruners.kind(namedIn: $0, default: NoPrunerSpec.typeName).init(from: $0) }
            ?? NoPrunerSpec()
        workers = try c.int(.workers, or: 1, in: 1...1024)
        launcher = try c.value(.launcher, or: .inProcess)
        ranksPerTrial = try c.int(.ranksPerTrial, or: 1, in: 1...4096)
        slurm = try c.decodeIfPresent(SlurmOptions.self, forKey: .slurm)
        maxRetries = try c.int(.maxRetries, or: 1, in: 0...1000)
        maxRestartsPerTrial = try c.contains(.maxRestartsPerTrial) ? c.int(.maxRestartsPerTrial, or: 0, in: 0...1000) : nil
        heartbeatTimeout = try c.value(.heartbeatTimeout, or: 30)
        try Check.positive(heartbeatTimeout, atMost: 864_000, decoder.fieldPath(CodingKeys.heartbeatTimeout))
        warmStart = try c.decodeIfPresent(WarmStartFile.self, forKey: .warmStart)
    }

    /// The base training config, validated, with its paths made absolute from `baseDirectory`.
    func loadBase(baseDirectory: String) throws -> TrainingConfig {
        if let baseFile {
            return try ConfigLoader.load(path: baseFile.hasPrefix("/") ? baseFile : "\(baseDirectory)/\(baseFile)")
        }
        guard let baseConfig else {
            throw ConfigError(path: "base", "a sweep needs `base: CONFIG.yaml` or an inline `base_config:`")
        }
        do { return try ConfigLoader.resolved(baseConfig, baseDirectory: baseDirectory) } catch let error as ConfigError {
            throw error.nested(under: CodingKeys.baseConfig.stringValue)
        }
    }
}

/// `warm_start: {optuna_storage: sqlite:///earlier.db, study: digits-lr}`.
struct WarmStartFile: Decodable {
    let optunaStorage: String
    let study: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case optunaStorage = "optuna_storage"
        case study
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        optunaStorage = try c.decode(String.self, forKey: .optunaStorage)
        study = try c.decode(String.self, forKey: .study)
        guard optunaStorage.hasPrefix("sqlite:///") else {
            throw ConfigError(path: decoder.fieldPath(CodingKeys.optunaStorage), "expected an Optuna SQLite storage URL, sqlite:///FILE (relative to the sweep file) or sqlite:////ABSOLUTE/FILE, got '\(optunaStorage)'")
        }
    }

    /// The storage's file: SQLAlchemy's `sqlite:///relative` and `sqlite:////absolute`.
    func resolved(baseDirectory: String) -> WarmStartSource {
        let path = String(optunaStorage.dropFirst("sqlite:///".count))
        return WarmStartSource(storagePath: path.hasPrefix("/") ? path : "\(baseDirectory)/\(path)", study: study)
    }
}

/// `objective: {metric: val_accuracy, direction: maximize, use: best}`.
struct Objective: Decodable {
    enum Direction: String, ConfigChoice { case minimize, maximize }
    /// The best value over a trial's epochs, or its last epoch's.
    enum Use: String, ConfigChoice { case best, final }

    var metric = "val_loss"
    var direction = Direction.minimize
    var use = Use.best

    enum CodingKeys: String, CodingKey, CaseIterable { case metric, direction, use }

    init() {}

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        metric = try c.value(.metric, or: metric)
        direction = try c.value(.direction, or: direction)
        use = try c.value(.use, or: use)
    }
}

/// `budget: {trials: 20, wall_seconds: 3600}`: the study ends at whichever comes first.
struct Budget: Decodable {
    var trials: Int?
    var wallSeconds: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case trials
        case wallSeconds = "wall_seconds"
    }

    init() {}

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        trials = c.contains(.trials) ? try c.int(.trials, or: nil, in: 1...1_000_000) : nil
        wallSeconds = try c.decodeIfPresent(Double.self, forKey: .wallSeconds)
        // A year: a finite number, so a NaN or infinite budget cannot keep a driver going forever.
        if let wallSeconds { try Check.positive(wallSeconds, atMost: 31_536_000, decoder.fieldPath(CodingKeys.wallSeconds)) }
    }
}

extension KeyedDecodingContainer {
    /// A decoder for the mapping at `key`, nil when the key is absent or null: a sampler's
    /// or pruner's kind is known only from its `name`, so the whole mapping goes to it.
    func section(_ key: Key) throws -> (any Decoder)? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try superDecoder(forKey: key)
    }

    /// An integer within `range` (`fallback` when absent; required when nil), with the
    /// range in the error: `workers: expected an integer in 1...1024, got 0`.
    func int(_ key: Key, or fallback: Int?, in range: ClosedRange<Int>) throws -> Int {
        let number = try fallback.map { try value(key, or: $0) } ?? decode(Int.self, forKey: key)
        guard range.contains(number) else {
            let bounds = range.upperBound == Int.max ? "≥ \(range.lowerBound)" : "in \(range.lowerBound)...\(range.upperBound)"
            throw ConfigError(path: ConfigError.render(codingPath + [key]), "expected an integer \(bounds), got \(number)")
        }
        return number
    }
}
