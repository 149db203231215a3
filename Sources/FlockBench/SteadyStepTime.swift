import Foundation

/// The step time of a run once it has warmed up: each step's seconds with the first
/// `warmUp` left out (the first step faults in the optimizer state, the communication
/// buffers and the allocator's pages, and can take several steady steps' time), as the
/// median with the fastest and slowest step kept.
///
/// ```swift
/// SteadyStepTime(stepSeconds: [2.9, 0.41, 0.40, 0.47], warmUp: 1)  // median 0.41, 0.40–0.47 over 3 steps
/// ```
public struct SteadyStepTime: Sendable, Equatable {
    /// Every step's seconds, in order, warm-up included.
    public let stepSeconds: [Double]
    public let warmUp: Int

    /// Nil when no step is left after the warm-up.
    public init?(stepSeconds: [Double], warmUp: Int) {
        guard warmUp >= 0, stepSeconds.count > warmUp else { return nil }
        self.stepSeconds = stepSeconds
        self.warmUp = warmUp
    }

    /// The steps measured: those after the warm-up.
    public var steady: ArraySlice<Double> { stepSeconds.dropFirst(warmUp) }

    public var median: Double { PairedRatio.quantile(steady.sorted(), 0.5) }

    public var minimum: Double { steady.min()! }
    public var maximum: Double { steady.max()! }

    /// The fields of a trial's JSON: `step_seconds` (the median), `_min`, `_max`, and every
    /// step's seconds (`steps_seconds`, warm-up first).
    public var json: [String: Any] {
        ["step_seconds": median, "step_seconds_min": minimum, "step_seconds_max": maximum, "steps_seconds": stepSeconds]
    }
}
