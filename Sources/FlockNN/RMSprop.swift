import FlockTensor

/// RMSprop (Hinton, Coursera lecture 6e), as PyTorch's `torch.optim.RMSprop`:
///
///     g ← g + λ·p;  s ← α·s + (1 − α)·g²;  p ← p − lr · g / (√s + ε)
public struct RMSprop: Optimizer {
    public var alpha: Float
    public var epsilon: Float
    public var weightDecay: Float
    public private(set) var meanSquare: [Float] = []
    public private(set) var stepCount = 0

    public init(alpha: Float = 0.99, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        precondition(alpha >= 0 && alpha < 1, "RMSprop alpha must be in [0, 1)")
        self.alpha = alpha
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public mutating func step(_ parameters: ParameterStore, spans: [UpdateSpan], stateCount: Int) {
        Self.sized(&meanSquare, stateCount)
        SquareScaledUpdate.apply(parameters, spans: spans, state: &meanSquare, keep: alpha, add: 1 - alpha,
                                  epsilon: epsilon, weightDecay: weightDecay)
        stepCount += 1
    }

    public var stateValuesPerParameter: Int { 1 }

    public var stateBuffers: [String: [Float]] { meanSquare.isEmpty ? [:] : ["mean_square": meanSquare] }

    public mutating func restore(stateBuffers: [String: [Float]], stepCount: Int) throws {
        try Self.checkNames(stateBuffers, allowed: ["mean_square"], optimizer: "RMSprop")
        meanSquare = stateBuffers["mean_square"] ?? []
        self.stepCount = stepCount
    }
}
