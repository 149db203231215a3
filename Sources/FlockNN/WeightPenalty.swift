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

    /// Adds the penalty's gradient into the store's gradients and returns its value.
    @discardableResult
    public func apply(to parameters: ParameterStore) -> Float {
        guard isActive else { return 0 }
        var penalty = 0.0
        for slot in parameters.slots where slot.isDecayed {
            parameters.withParameter(slot) { w in
                parameters.withGradient(slot) { g in
                    for i in 0..<w.count {
                        let value = w[i]
                        penalty += Double(l1 * Swift.abs(value) + l2 * value * value)
                        g[i] += l1 * (value > 0 ? 1 : (value < 0 ? -1 : 0)) + 2 * l2 * value
                    }
                }
            }
        }
        return Float(penalty)
    }
}
