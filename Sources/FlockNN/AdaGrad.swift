import FlockTensor

/// AdaGrad (Duchi et al. 2011), as PyTorch's `torch.optim.Adagrad`:
///
///     g ← g + λ·p;  s ← s + g²;  p ← p − lr · g / (√s + ε)
public struct AdaGrad: Optimizer {
    public var epsilon: Float
    public var weightDecay: Float
    public private(set) var sumOfSquares: [Float] = []
    public private(set) var stepCount = 0

    public init(epsilon: Float = 1e-10, weightDecay: Float = 0) {
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public mutating func step(_ parameters: ParameterStore, spans: [UpdateSpan], stateCount: Int) {
        Self.sized(&sumOfSquares, stateCount)
        let eps = epsilon, decay = weightDecay
        parameters.withParameters { p in
            parameters.withGradients { g in
                sumOfSquares.withUnsafeMutableBufferPointer { s in
                    for span in spans {
                        let lr = span.learningRate, shift = span.stateStart - span.range.lowerBound
                        for i in span.range {
                            let grad = g[i] + decay * p[i]
                            s[i &+ shift] += grad * grad
                            p[i] -= lr * grad / (s[i &+ shift].squareRoot() + eps)
                            g[i] = 0
                        }
                    }
                }
            }
        }
        stepCount += 1
    }

    public var stateValuesPerParameter: Int { 1 }

    public var stateBuffers: [String: [Float]] { sumOfSquares.isEmpty ? [:] : ["sum_of_squares": sumOfSquares] }

    public mutating func restore(stateBuffers: [String: [Float]], stepCount: Int) throws {
        try Self.checkNames(stateBuffers, allowed: ["sum_of_squares"], optimizer: "AdaGrad")
        sumOfSquares = stateBuffers["sum_of_squares"] ?? []
        self.stepCount = stepCount
    }
}
