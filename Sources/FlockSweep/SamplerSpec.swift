/// A sampler kind as a sweep file names it (`sampler: {name: tpe, startup_trials: 5}`):
/// its own fields, decoded and checked, and the sampler they make.
///
/// A new kind is one type conforming to this protocol, registered in a `SamplerRegistry`
/// that is handed to `SweepConfig.load`/`parse`. Its decoder reads the sampler's mapping,
/// `name` included: read the kind's fields with `fields(_:of:)` (or `rejectFields(of:)` for
/// none), which rejects any other key, so that a field of another kind names itself
/// (`sampler.reduction_factor: not a field of sampler 'grid'`).
///
/// ```swift
/// struct Fixed: SamplerSpec {                     // sampler: {name: fixed}
///     static let typeName = "fixed"
///     init(from decoder: any Decoder) throws { try decoder.rejectFields(of: "sampler 'fixed'") }
///     func make(space: SearchSpace, trialBudget: Int?, seed: Int) throws -> any Sampler { MySampler() }
/// }
/// ```
public protocol SamplerSpec: Decodable, Sendable {
    /// The `name:` in sweep files, e.g. `tpe`.
    static var typeName: String { get }
    /// The sampler for `space`. `trialBudget` is the study's `budget.trials` (nil when only
    /// a wall-clock budget is given); `seed` is the sweep file's. Throws a `ConfigError`
    /// when the kind cannot sample `space`.
    func make(space: SearchSpace, trialBudget: Int?, seed: Int) throws -> any Sampler
}
