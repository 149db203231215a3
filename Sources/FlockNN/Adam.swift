import FlockTensor
import Foundation

/// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), as PyTorch's
/// `torch.optim.Adam` / `AdamW`. At step t:
///
///     Adam:  g ← g + λ·p                    AdamW:  p ← p − lr·λ·p
///     m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²
///     p ← p − lr · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
public struct Adam: Optimizer {
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float
    public var weightDecay: Float
    /// Decoupled weight decay (AdamW) instead of an L2 term in the gradient.
    public var decoupledWeightDecay: Bool
    public private(set) var firstMoment: [Float] = []
    public private(set) var secondMoment: [Float] = []
    public private(set) var stepCount = 0

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                weightDecay: Float = 0, decoupledWeightDecay: Bool = false) {
        precondition(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1, "Adam betas must be in [0, 1)")
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupledWeightDecay = decoupledWeightDecay
    }

    /// AdamW with PyTorch's default decay 0.01.
    public static func adamW(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                             weightDecay: Float = 0.01) -> Adam {
        Adam(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay, decoupledWeightDecay: true)
    }

    public mutating func step(_ parameters: ParameterStore, spans: [UpdateSpan], stateCount: Int) {
        Self.sized(&firstMoment, stateCount)
        Self.sized(&secondMoment, stateCount)
        stepCount += 1
        let b1 = beta1, b2 = beta2, eps = epsilon
        let correction1 = 1 - Float(Foundation.pow(Double(b1), Double(stepCount)))
        let correction2 = 1 - Float(Foundation.pow(Double(b2), Double(stepCount)))
        let l2 = decoupledWeightDecay ? 0 : weightDecay
        let decoupled = decoupledWeightDecay, decay = weightDecay
        parameters.withParameters { p in
            parameters.withGradients { g in
                firstMoment.withUnsafeMutableBufferPointer { m in
                    secondMoment.withUnsafeMutableBufferPointer { v in
                        for span in spans {
                            let lr = span.learningRate, shift = span.stateStart - span.range.lowerBound
                            let shrink = decoupled ? 1 - lr * decay : 1
                            for i in span.range {
                                let grad = g[i] + l2 * p[i]
                                m[i &+ shift] = b1 * m[i &+ shift] + (1 - b1) * grad
                                v[i &+ shift] = b2 * v[i &+ shift] + (1 - b2) * grad * grad
                                let mHat = m[i &+ shift] / correction1
                                let vHat = v[i &+ shift] / correction2
                                p[i] = p[i] * shrink - lr * mHat / (vHat.squareRoot() + eps)
                                g[i] = 0
                            }
                        }
                    }
                }
            }
        }
    }

    public var stateValuesPerParameter: Int { 2 }

    public var stateBuffers: [String: [Float]] {
        firstMoment.isEmpty ? [:] : ["first_moment": firstMoment, "second_moment": secondMoment]
    }

    public mutating func restore(stateBuffers: [String: [Float]], stepCount: Int) throws {
        try Self.checkNames(stateBuffers, allowed: ["first_moment", "second_moment"], optimizer: "Adam")
        try Self.checkComplete(stateBuffers, names: ["first_moment", "second_moment"], optimizer: "Adam")
        firstMoment = stateBuffers["first_moment"] ?? []
        secondMoment = stateBuffers["second_moment"] ?? []
        self.stepCount = stepCount
    }
}
