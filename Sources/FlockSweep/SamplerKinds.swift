import FlockNN

// Flock's sampler kinds (`SamplerRegistry.standard`), each with exactly its own fields.
// The defaults and ranges are the ones sweep files have always had.

/// `sampler: {name: grid}`: every combination of the grid, in order, each once.
public struct GridSamplerSpec: SamplerSpec {
    public static let typeName = "grid"

    public init(from decoder: any Decoder) throws {
        try decoder.rejectFields(of: "sampler 'grid'")
    }

    public func make(space: SearchSpace, trialBudget: Int?, seed: Int) throws -> any Sampler {
        guard space.grid() != nil else {
            throw ConfigError(path: "sampler.name", "grid needs every parameter to be int or categorical (a float range has no grid)")
        }
        return GridSampler()
    }
}

/// `sampler: {name: random}`: independent draws from the sweep's `seed`.
public struct RandomSamplerSpec: SamplerSpec {
    public static let typeName = "random"

    public init(from decoder: any Decoder) throws {
        try decoder.rejectFields(of: "sampler 'random'")
    }

    public func make(space: SearchSpace, trialBudget: Int?, seed: Int) throws -> any Sampler {
        RandomSampler(seed: UInt64(seed))
    }
}

/// `sampler: {name: tpe, startup_trials: 5, candidates: 100}`.
public typealias TPESamplerSpec = ModelSamplerSpec<TPESampler>
/// `sampler: {name: gp, startup_trials: 10, candidates: 2048}`.
public typealias GPSamplerSpec = ModelSamplerSpec<GPSampler>

extension TPESampler: ModelBasedSampler { public static let typeName = "tpe" }
extension GPSampler: ModelBasedSampler { public static let typeName = "gp" }

/// A sampler that draws `startupTrials` random trials, then fits a model and scores
/// `candidates` points per suggestion: the sampler of a `ModelSamplerSpec` kind.
public protocol ModelBasedSampler: Sampler {
    /// The kind's `name:` in sweep files.
    static var typeName: String { get }
    static var defaultStartupTrials: Int { get }
    static var defaultCandidates: Int { get }
    init(seed: UInt64, startupTrials: Int, candidates: Int)
}

/// The kind of one model-based sampler (`tpe`, `gp`): its `startup_trials` and `candidates`.
public struct ModelSamplerSpec<Model: ModelBasedSampler>: SamplerSpec {
    public static var typeName: String { Model.typeName }
    public var fields: ModelSamplerFields

    public init(_ fields: ModelSamplerFields = ModelSamplerFields()) { self.fields = fields }

    public init(from decoder: any Decoder) throws {
        self.init(try ModelSamplerFields(from: decoder, kind: Self.typeName))
    }

    public func make(space: SearchSpace, trialBudget: Int?, seed: Int) throws -> any Sampler {
        Model(seed: UInt64(seed), startupTrials: fields.startupTrials ?? Model.defaultStartupTrials,
              candidates: fields.candidates ?? Model.defaultCandidates)
    }
}

/// `sampler: {name: auto}`: the GP or TPE, as `SamplerChoice` picks for the space and the
/// trial budget. Its fields go to the one picked; what it leaves out takes that one's default.
public struct AutoSamplerSpec: SamplerSpec {
    public static let typeName = "auto"
    public var fields: ModelSamplerFields

    public init(from decoder: any Decoder) throws {
        fields = try ModelSamplerFields(from: decoder, kind: Self.typeName)
    }

    public func make(space: SearchSpace, trialBudget: Int?, seed: Int) throws -> any Sampler {
        let picked: any SamplerSpec = SamplerChoice.prefersGaussianProcess(space: space, trialBudget: trialBudget)
            ? GPSamplerSpec(fields) : TPESamplerSpec(fields)
        return try picked.make(space: space, trialBudget: trialBudget, seed: seed)
    }
}

/// The fields of the model-based kinds (tpe, gp, auto), nil where the file leaves one out
/// so that the sampler made applies its own default.
public struct ModelSamplerFields: Sendable {
    /// Random trials before the model is used.
    public var startupTrials: Int?
    /// Points scored by the model per suggestion.
    public var candidates: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case startupTrials = "startup_trials"
        case candidates
    }

    public init(startupTrials: Int? = nil, candidates: Int? = nil) {
        self.startupTrials = startupTrials
        self.candidates = candidates
    }

    init(from decoder: any Decoder, kind: String) throws {
        let c = try decoder.fields(CodingKeys.self, of: "sampler '\(kind)'")
        startupTrials = c.contains(.startupTrials) ? try c.int(.startupTrials, or: nil, in: 0...1_000_000) : nil
        candidates = c.contains(.candidates) ? try c.int(.candidates, or: nil, in: 1...100_000) : nil
    }
}
