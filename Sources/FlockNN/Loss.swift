/// A training objective. Classification losses take class indices as targets
/// (`crossEntropy`) or 0/1 targets (`binaryCrossEntropy`); regression losses take
/// targets of the prediction's shape.
public enum Loss: Sendable, Equatable {
    case meanSquaredError
    case meanAbsoluteError
    case huber(delta: Float)
    case binaryCrossEntropy(fromLogits: Bool)
    /// Softmax cross-entropy from logits.
    case crossEntropy(labelSmoothing: Float, classWeights: [Float]?)

    /// The loss's name in configs (`cross_entropy`, `mse`, …).
    public var name: String {
        switch self {
        case .meanSquaredError: return "mse"
        case .meanAbsoluteError: return "mae"
        case .huber: return "huber"
        case .binaryCrossEntropy: return "binary_cross_entropy"
        case .crossEntropy: return "cross_entropy"
        }
    }

    /// Whether targets are class indices (and accuracy-like metrics apply).
    public var isClassification: Bool {
        switch self {
        case .crossEntropy, .binaryCrossEntropy: return true
        default: return false
        }
    }

    /// The loss of `prediction` against `target` on the tape. For `crossEntropy`,
    /// `target` holds class indices as floats, shape (B), or class distributions (B, C)
    /// (soft targets, as mixup makes).
    public func callAsFunction(_ prediction: Variable, target: Tensor) -> Variable {
        let tape = prediction.tape
        switch self {
        case .meanSquaredError: return tape.meanSquaredError(prediction, target: target.reshaped(prediction.shape))
        case .meanAbsoluteError: return tape.meanAbsoluteError(prediction, target: target.reshaped(prediction.shape))
        case let .huber(delta): return tape.huber(prediction, target: target.reshaped(prediction.shape), delta: delta)
        case let .binaryCrossEntropy(fromLogits):
            return tape.binaryCrossEntropy(prediction, target: target.reshaped(prediction.shape), fromLogits: fromLogits)
        case let .crossEntropy(smoothing, _) where target.rank == 2 && target.shape == prediction.shape:
            // Target distributions (mixup); class weights are rejected for them at configuration.
            return tape.softmaxCrossEntropy(prediction, targetDistributions: target, labelSmoothing: smoothing)
        case let .crossEntropy(smoothing, weights):
            return tape.softmaxCrossEntropy(prediction, labels: target.scalars.map { Int($0) },
                                            labelSmoothing: smoothing, classWeights: weights)
        }
    }
}
