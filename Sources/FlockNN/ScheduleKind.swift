/// A learning-rate schedule kind: what `schedule:` holds besides `name` and
/// `warmup_epochs`, and the decay it computes. A new kind is one type plus one line in
/// `ScheduleRegistry.standard` (or a user's registry).
public protocol ScheduleKind: Codable, Sendable, Equatable {
    /// The `name:` in configs, e.g. `cosine`.
    static var typeName: String { get }
    /// Every field at its default.
    init()
    /// Throws a `ConfigError` at `path.field` for a field out of range.
    func validate(path: String) throws
    /// The decayed rate at `clock` from the configured rate `base` (warm-up is applied after).
    func rate(base: Float, at clock: ScheduleClock) -> Float
}

extension ScheduleKind {
    public func validate(path: String) throws {}
    public var name: String { Self.typeName }

    public func isEqual(to other: any ScheduleKind) -> Bool { (other as? Self) == self }

    /// Decodes `Keys` of a kind, rejecting any other key but the shared ones.
    static func container<Keys: CodingKey & CaseIterable>(_ decoder: any Decoder, _: Keys.Type) throws -> KeyedDecodingContainer<Keys> {
        try decoder.rejectUnknownKeys(Keys.self, alsoAllowed: ScheduleRegistry.sharedKeys, owner: "schedule '\(typeName)'")
        return try decoder.container(keyedBy: Keys.self)
    }
}

/// Where training is when a rate is asked for.
public struct ScheduleClock: Sendable {
    /// Optimizer steps taken so far (0 for the first update).
    public let step: Int
    public let stepsPerEpoch: Int
    /// Optimizer steps in the whole run.
    public let totalSteps: Int
    public let warmupSteps: Int

    /// The epoch `step` falls in.
    public var epoch: Int { step / Swift.max(stepsPerEpoch, 1) }
}

/// The schedule kinds a config may name, by their `name:`; passed to decoding through
/// `userInfo[.scheduleRegistry]` (see `ConfigKinds`).
public typealias ScheduleRegistry = KindRegistry<any ScheduleKind.Type>

extension KindRegistry where Kind == any ScheduleKind.Type {
    /// Keys every schedule entry may hold besides its kind's own fields.
    public static var sharedKeys: Set<String> { ["name", "warmup_epochs"] }

    public init(_ kinds: [any ScheduleKind.Type]) {
        self.init(kinds, nameOf: { $0.typeName })
    }

    /// Flock's schedule kinds: one line per kind.
    public static var standard: ScheduleRegistry {
        ScheduleRegistry([ConstantSchedule.self, StepDecaySchedule.self, ExponentialDecaySchedule.self, CosineSchedule.self])
    }
}

extension CodingUserInfoKey {
    /// The `ScheduleRegistry` that decodes `schedule:` (default `ScheduleRegistry.standard`).
    public static let scheduleRegistry = CodingUserInfoKey(rawValue: "flock.scheduleRegistry")!
}
