import FlockNN

/// One phase of each optimizer step (`phases:` in a config): the parameters it updates, by
/// node or path prefix, with its own optimizer and loss. Phases run in order on the same
/// batch, each followed by its own update, so a later phase sees the earlier ones' new
/// weights (a GAN's discriminator, then its generator). A phase with `every: k` runs on
/// the last of every k steps only (k critic updates per generator update).
///
/// ```yaml
/// phases:
///   - {name: decoder, parameters: [decoder], optimizer: {name: sgd, lr: 0.1}}
///   - {name: encoder, parameters: [encoder], loss: {terms: [{name: mse, output: decoder, target: image}]}}
/// ```
public struct PhaseConfig: Codable, Equatable, Sendable {
    public var name: String
    /// Node names or parameter path prefixes (`decoder`, `layers.0`): the parameters whose
    /// path starts with one of them, followed by a dot.
    public var parameters: [String]
    /// nil: the config's `optimizer`. Its `lr` follows the phase's `schedule`, or else the
    /// config's schedule scaled by its ratio to the config's `optimizer.lr`.
    public var optimizer: OptimizerConfig?
    /// nil: the config's `loss`.
    public var loss: LossConfig?
    /// Runs on every `every`-th optimizer step only, the last of each `every` (a GAN's
    /// generator at `every: 5` after five critic steps); nil: every step.
    public var every: Int?
    /// After each update, the phase's parameters are clipped to [−c, c] (a Wasserstein
    /// critic's Lipschitz constraint); nil: no clipping.
    public var clipWeights: Double?
    /// The phase's own learning-rate schedule (the top-level `schedule:`'s fields), read at
    /// the run's optimizer step as that one is; nil: the config's.
    public var schedule: ScheduleConfig?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, parameters, optimizer, loss, every, schedule
        case clipWeights = "clip_weights"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, owner: "a phase")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        parameters = try c.decode([String].self, forKey: .parameters)
        optimizer = try c.decodeIfPresent(OptimizerConfig.self, forKey: .optimizer)
        loss = try c.decodeIfPresent(LossConfig.self, forKey: .loss)
        every = try c.decodeIfPresent(Int.self, forKey: .every)
        clipWeights = try c.decodeIfPresent(Double.self, forKey: .clipWeights)
        schedule = try c.decodeIfPresent(ScheduleConfig.self, forKey: .schedule)
    }

    /// The path prefixes the phase's parameters start with (`decoder.`).
    public var prefixes: [String] { parameters.map { $0.hasSuffix(".") ? $0 : $0 + "." } }

    /// Checks the name and the prefixes; the optimizer's and loss's fields are checked
    /// when they are made.
    func validate(path: String, earlier: [PhaseConfig]) throws {
        guard !name.isEmpty, !name.contains("/") else {
            throw ConfigError(path: "\(path).name", "expected a non-empty name without '/', got '\(name)'")
        }
        guard !earlier.contains(where: { $0.name == name }) else {
            throw ConfigError(path: "\(path).name", "'\(name)' names an earlier phase")
        }
        guard !parameters.isEmpty, !parameters.contains(where: \.isEmpty) else {
            throw ConfigError(path: "\(path).parameters", "expected a list of node names or parameter path prefixes")
        }
        if let every { try Check.positive(every, "\(path).every") }
        if let clipWeights { try Check.positive(float: clipWeights, "\(path).clip_weights") }
        if let schedule { _ = try schedule.makeSchedule(stepsPerEpoch: 1, path: "\(path).schedule") }
    }
}
