import Foundation

/// Flock's schedule kinds. Epoch-based decays (step, exponential) change at epoch
/// boundaries, as PyTorch's `StepLR` / `ExponentialLR` stepped once per epoch; cosine
/// annealing changes every step.

/// `constant`: the configured rate.
public struct ConstantSchedule: ScheduleKind {
    public static let typeName = "constant"
    public init() {}
    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: [], alsoAllowed: ScheduleRegistry.sharedKeys, owner: "schedule '\(Self.typeName)'")
    }
    public func encode(to encoder: any Encoder) throws {}
    public func rate(base: Float, at clock: ScheduleClock) -> Float { base }
}

/// `step`: lr · γ^⌊epoch / step_size⌋ (step_size 10, γ 0.1).
public struct StepDecaySchedule: ScheduleKind {
    public static let typeName = "step"
    public var stepSize: Int?
    public var gamma: Double?
    enum CodingKeys: String, CodingKey, CaseIterable {
        case stepSize = "step_size"
        case gamma
    }
    public init() {}
    public init(stepSize: Int, gamma: Double) {
        self.stepSize = stepSize
        self.gamma = gamma
    }
    public init(from decoder: any Decoder) throws {
        let c = try Self.container(decoder, CodingKeys.self)
        stepSize = try c.decodeIfPresent(Int.self, forKey: .stepSize)
        gamma = try c.decodeIfPresent(Double.self, forKey: .gamma)
    }
    public func validate(path: String) throws {
        try Check.within(stepSize ?? 10, 1, 1_000_000, "\(path).step_size")
        try Check.positive(gamma ?? 0.1, "\(path).gamma")
    }
    public func rate(base: Float, at clock: ScheduleClock) -> Float {
        base * Float(Foundation.pow(Double(Float(gamma ?? 0.1)), Double(clock.epoch / Swift.max(stepSize ?? 10, 1))))
    }
}

/// `exponential`: lr · γ^epoch (γ 0.95).
public struct ExponentialDecaySchedule: ScheduleKind {
    public static let typeName = "exponential"
    public var gamma: Double?
    enum CodingKeys: String, CodingKey, CaseIterable { case gamma }
    public init() {}
    public init(gamma: Double) { self.gamma = gamma }
    public init(from decoder: any Decoder) throws {
        gamma = try Self.container(decoder, CodingKeys.self).decodeIfPresent(Double.self, forKey: .gamma)
    }
    public func validate(path: String) throws { try Check.positive(gamma ?? 0.95, "\(path).gamma") }
    public func rate(base: Float, at clock: ScheduleClock) -> Float {
        base * Float(Foundation.pow(Double(Float(gamma ?? 0.95)), Double(clock.epoch)))
    }
}

/// `cosine`: min_lr + (lr − min_lr) · (1 + cos(π·t/T))/2 over the steps after warm-up
/// (Loshchilov & Hutter 2017, without restarts; min_lr 0).
public struct CosineSchedule: ScheduleKind {
    public static let typeName = "cosine"
    public var minLR: Double?
    enum CodingKeys: String, CodingKey, CaseIterable { case minLR = "min_lr" }
    public init() {}
    public init(minLR: Double) { self.minLR = minLR }
    public init(from decoder: any Decoder) throws {
        minLR = try Self.container(decoder, CodingKeys.self).decodeIfPresent(Double.self, forKey: .minLR)
    }
    public func validate(path: String) throws { try Check.nonNegative(minLR ?? 0, "\(path).min_lr") }
    public func rate(base: Float, at clock: ScheduleClock) -> Float {
        let minimum = Float(minLR ?? 0)
        let span = Swift.max(clock.totalSteps - clock.warmupSteps, 1)
        let t = Double(Swift.min(Swift.max(clock.step - clock.warmupSteps, 0), span)) / Double(span)
        return minimum + (base - minimum) * Float((1 + Foundation.cos(Double.pi * t)) / 2)
    }
}
