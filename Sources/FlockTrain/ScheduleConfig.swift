import FlockNN

/// `schedule: cosine` or `schedule: {name: step, step_size: 5, warmup_epochs: 2}`: a
/// registered `ScheduleKind` and the linear warm-up every kind shares.
public struct ScheduleConfig: Codable, Equatable, Sendable {
    public var kind: any ScheduleKind
    /// Linear warm-up over this many epochs (0).
    public var warmupEpochs: Int?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name
        case warmupEpochs = "warmup_epochs"
    }

    public init(_ kind: any ScheduleKind = ConstantSchedule()) {
        self.kind = kind
    }

    public var name: String { kind.name }

    public init(from decoder: any Decoder) throws {
        let registry = decoder.userInfo[.scheduleRegistry] as? ScheduleRegistry ?? .standard
        if let shorthand = try? decoder.singleValueContainer().decode(String.self) {
            self.init(try Self.kind(named: shorthand, in: registry, path: ConfigError.render(decoder.codingPath)).init())
            return
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try Self.kind(named: try c.value(.name, or: ConstantSchedule.typeName), in: registry,
                                 path: decoder.fieldPath(CodingKeys.name))
        self.init(try kind.init(from: decoder))
        warmupEpochs = try c.decodeIfPresent(Int.self, forKey: .warmupEpochs)
    }

    private static func kind(named name: String, in registry: ScheduleRegistry, path: String) throws -> any ScheduleKind.Type {
        guard let kind = registry.kind(named: name) else {
            throw ConfigError(path: path, "unknown schedule '\(name)' (expected one of: \(registry.names.joined(separator: ", ")))")
        }
        return kind
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try kind.encode(to: encoder)
        try c.encodeIfPresent(warmupEpochs, forKey: .warmupEpochs)
    }

    public func makeSchedule(stepsPerEpoch: Int, path: String) throws -> LearningRateSchedule {
        let warmup = warmupEpochs ?? 0
        try Check.within(warmup, 0, 1_000_000, "\(path).warmup_epochs")
        try kind.validate(path: path)
        let (warmupSteps, overflow) = warmup.multipliedReportingOverflow(by: stepsPerEpoch)
        guard !overflow else {
            throw ConfigError(path: "\(path).warmup_epochs", "\(warmup) epochs of \(stepsPerEpoch) steps overflow a step count")
        }
        return LearningRateSchedule(kind, warmupSteps: warmupSteps)
    }

    public static func == (lhs: ScheduleConfig, rhs: ScheduleConfig) -> Bool {
        lhs.warmupEpochs == rhs.warmupEpochs && lhs.kind.isEqual(to: rhs.kind)
    }
}
