/// The learning rate as a function of the optimizer step: a registered `ScheduleKind`'s
/// decay, with an optional linear warm-up that scales the rate by (s + 1)/W over the
/// first W steps.
///
/// ```swift
/// let schedule = LearningRateSchedule(CosineSchedule(minLR: 0), warmupSteps: 100)
/// ```
public struct LearningRateSchedule: Sendable, Equatable, CustomStringConvertible {
    public var decay: any ScheduleKind
    /// Warm-up length in optimizer steps (0: none).
    public var warmupSteps: Int

    public init(_ decay: any ScheduleKind = ConstantSchedule(), warmupSteps: Int = 0) {
        self.decay = decay
        self.warmupSteps = warmupSteps
    }

    /// - Parameters:
    ///   - base: the configured learning rate.
    ///   - step: optimizer steps taken so far (0 for the first update).
    ///   - stepsPerEpoch: optimizer steps in one epoch.
    ///   - totalSteps: optimizer steps in the whole run.
    public func learningRate(base: Float, step: Int, stepsPerEpoch: Int, totalSteps: Int) -> Float {
        let clock = ScheduleClock(step: step, stepsPerEpoch: stepsPerEpoch, totalSteps: totalSteps, warmupSteps: warmupSteps)
        var rate = decay.rate(base: base, at: clock)
        if step < warmupSteps {
            rate *= Float(step + 1) / Float(warmupSteps)
        }
        return rate
    }

    public var description: String { "\(decay.name) \(decay) warmup \(warmupSteps)" }

    public static func == (lhs: LearningRateSchedule, rhs: LearningRateSchedule) -> Bool {
        lhs.warmupSteps == rhs.warmupSteps && lhs.decay.isEqual(to: rhs.decay)
    }
}
