import Foundation

/// The learning rate as a function of the optimizer step.
///
/// Epoch-based decays (step, exponential) change at epoch boundaries, as PyTorch's
/// `StepLR` / `ExponentialLR` stepped once per epoch; cosine annealing changes every
/// step. An optional linear warm-up scales the rate by (s + 1)/W over the first W steps.
public struct LearningRateSchedule: Sendable, Equatable {
    public enum Decay: Sendable, Equatable {
        case constant
        /// lr · γ^⌊epoch / stepSize⌋
        case step(stepSize: Int, gamma: Float)
        /// lr · γ^epoch
        case exponential(gamma: Float)
        /// minimum + (lr − minimum) · (1 + cos(π·t/T))/2 over the steps after warm-up
        /// (Loshchilov & Hutter 2017, without restarts).
        case cosine(minimum: Float)
    }

    public var decay: Decay
    /// Warm-up length in optimizer steps (0: none).
    public var warmupSteps: Int

    public init(_ decay: Decay = .constant, warmupSteps: Int = 0) {
        self.decay = decay
        self.warmupSteps = warmupSteps
    }

    /// - Parameters:
    ///   - base: the configured learning rate.
    ///   - step: optimizer steps taken so far (0 for the first update).
    ///   - stepsPerEpoch: optimizer steps in one epoch.
    ///   - totalSteps: optimizer steps in the whole run.
    public func learningRate(base: Float, step: Int, stepsPerEpoch: Int, totalSteps: Int) -> Float {
        let epoch = step / Swift.max(stepsPerEpoch, 1)
        var rate: Float
        switch decay {
        case .constant:
            rate = base
        case let .step(stepSize, gamma):
            rate = base * Float(Foundation.pow(Double(gamma), Double(epoch / Swift.max(stepSize, 1))))
        case let .exponential(gamma):
            rate = base * Float(Foundation.pow(Double(gamma), Double(epoch)))
        case let .cosine(minimum):
            let span = Swift.max(totalSteps - warmupSteps, 1)
            let t = Double(Swift.min(Swift.max(step - warmupSteps, 0), span)) / Double(span)
            rate = minimum + (base - minimum) * Float((1 + Foundation.cos(Double.pi * t)) / 2)
        }
        if step < warmupSteps {
            rate *= Float(step + 1) / Float(warmupSteps)
        }
        return rate
    }
}
