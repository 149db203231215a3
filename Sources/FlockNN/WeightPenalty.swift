/// L1, L2 and Elastic Net penalties on weights (not biases), as Keras'
/// `kernel_regularizer`: the loss gains l1·Σ|w| + l2·Σw², and the gradient l1·sign(w) + 2·l2·w.
public struct WeightPenalty: Sendable, Equatable {
    public var l1: Float
    public var l2: Float

    public init(l1: Float = 0, l2: Float = 0) {
        self.l1 = l1
        self.l2 = l2
    }

    public static func elasticNet(l1: Float, l2: Float) -> WeightPenalty { WeightPenalty(l1: l1, l2: l2) }

    public var isActive: Bool { l1 != 0 || l2 != 0 }

    /// The penalty's gradient at a weight `value`: l1·sign(w) + 2·l2·w (the gradient
    /// transform `PenalizeAndClipValues` adds it to decayed parameters' gradients).
    @inline(__always)
    public func gradient(at value: Float) -> Float {
        l1 * (value > 0 ? 1 : (value < 0 ? -1 : 0)) + 2 * l2 * value
    }
}
