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
                        for span in spans where !span.range.isEmpty {
                            let lr = span.learningRate, shrink = decoupled ? 1 - lr * decay : 1
                            // This span's moments, indexed as the parameters are.
                            let shift = span.stateStart - span.range.lowerBound
                            let (pm, pv) = (m.baseAddress! + shift, v.baseAddress! + shift)
                            let (pp, pg) = (p.baseAddress!, g.baseAddress!)
                            // Eight at a time by hand: the loop stayed scalar (the square root
                            // compiled to a checked `sqrtf` call per value). Each lane does the
                            // scalar tail's operations in its order (a square root is correctly
                            // rounded either way), so results are bit for bit the same.
                            let start = span.range.lowerBound
                            FloatLanes.forEach(span.range.count, { j in
                                let i = start + j
                                let grad = pg.lanes(at: i) + l2 * pp.lanes(at: i)
                                let first = b1 * pm.lanes(at: i) + (1 - b1) * grad
                                let second = b2 * pv.lanes(at: i) + (1 - b2) * grad * grad
                                pm.setLanes(first, at: i)
                                pv.setLanes(second, at: i)
                                let (mHat, vHat) = (first / correction1, second / correction2)
                                pp.setLanes(pp.lanes(at: i) * shrink - lr * mHat / (vHat.laneSquareRoots() + eps), at: i)
                                pg.setLanes(.zero, at: i)
                            }, tail: { j in
                                let i = start + j
                                let grad = pg[i] + l2 * pp[i]
                                pm[i] = b1 * pm[i] + (1 - b1) * grad
                                pv[i] = b2 * pv[i] + (1 - b2) * grad * grad
                                let (mHat, vHat) = (pm[i] / correction1, pv[i] / correction2)
                                pp[i] = pp[i] * shrink - lr * mHat / (vHat.squareRoot() + eps)
                                pg[i] = 0
                            })
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
