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
        SquareScaledUpdate.apply(parameters, spans: spans, state: &sumOfSquares, keep: 1, add: 1,
                                  epsilon: epsilon, weightDecay: weightDecay)
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
