import FlockTensor

/// Stochastic gradient descent with optional momentum (Polyak) and Nesterov momentum
/// (Sutskever et al. 2013), as PyTorch's `torch.optim.SGD` with dampening 0:
///
///     g ← g + λ·p
///     v ← μ·v + g
///     p ← p − lr · (nesterov ? g + μ·v : v)         (v ≡ g when μ = 0)
public struct SGD: Optimizer {
    public var momentum: Float
    public var nesterov: Bool
    public var weightDecay: Float
    public private(set) var velocity: [Float] = []
    public private(set) var stepCount = 0

    public init(momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
        precondition(momentum >= 0, "momentum must be non-negative")
        precondition(!nesterov || momentum > 0, "Nesterov momentum needs momentum > 0")
        self.momentum = momentum
        self.nesterov = nesterov
        self.weightDecay = weightDecay
    }

    public mutating func step(_ parameters: ParameterStore, spans: [UpdateSpan], stateCount: Int) {
        let mu = momentum, decay = weightDecay, nesterov = nesterov
        if mu > 0 { Self.sized(&velocity, stateCount) }
        parameters.withParameters { p in
            parameters.withGradients { g in
                for span in spans {
                    let lr = span.learningRate, shift = span.stateStart - span.range.lowerBound
                    if mu == 0 {
                        for i in span.range {
                            p[i] -= lr * (g[i] + decay * p[i])
                            g[i] = 0
                        }
                        continue
                    }
                    velocity.withUnsafeMutableBufferPointer { v in
                        for i in span.range {
                            let grad = g[i] + decay * p[i]
                            v[i &+ shift] = mu * v[i &+ shift] + grad
                            p[i] -= lr * (nesterov ? grad + mu * v[i &+ shift] : v[i &+ shift])
                            g[i] = 0
                        }
                    }
                }
            }
        }
        stepCount += 1
    }

    public var stateValuesPerParameter: Int { momentum > 0 ? 1 : 0 }

    public var stateBuffers: [String: [Float]] { velocity.isEmpty ? [:] : ["velocity": velocity] }

    public mutating func restore(stateBuffers: [String: [Float]], stepCount: Int) throws {
        try Self.checkNames(stateBuffers, allowed: ["velocity"], optimizer: "SGD")
        velocity = stateBuffers["velocity"] ?? []
        self.stepCount = stepCount
    }
}
