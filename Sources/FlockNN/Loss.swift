import FlockTensor

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
    /// Softmax focal loss from logits (Lin et al. 2017), γ ≥ 0; targets are class indices.
    case focal(gamma: Float)
    /// Knowledge distillation (Hinton et al. 2015) from logits:
    /// α · T²·KL(teacher_T ‖ student_T) + (1 − α) · cross-entropy with the label. Training
    /// targets are rows (label, teacher logits…) (B, 1 + C); targets of class indices alone
    /// (validation) give the cross-entropy.
    case distillation(temperature: Float, alpha: Float)

    /// The loss's name in configs (`cross_entropy`, `mse`, …).
    public var name: String {
        switch self {
        case .meanSquaredError: return "mse"
        case .meanAbsoluteError: return "mae"
        case .huber: return "huber"
        case .binaryCrossEntropy: return "binary_cross_entropy"
        case .crossEntropy: return "cross_entropy"
        case .focal: return "focal"
        case .distillation: return "distillation"
        }
    }

    /// Whether targets are class indices (and accuracy-like metrics apply).
    public var isClassification: Bool {
        switch self {
        case .crossEntropy, .binaryCrossEntropy, .focal, .distillation: return true
        default: return false
        }
    }

    /// Whether the model outputs one logit per class, read through a softmax (accuracy
    /// from the largest, probabilities from the softmax).
    public var isSoftmaxClassifier: Bool {
        switch self {
        case .crossEntropy, .focal, .distillation: return true
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
        case let .focal(gamma):
            return tape.focalLoss(prediction, labels: target.scalars.map { Int($0) }, gamma: gamma)
        case let .distillation(temperature, alpha):
            guard target.rank == 2, target.shape[1] == prediction.shape[1] + 1 else {
                return tape.softmaxCrossEntropy(prediction, labels: target.scalars.map { Int($0) })
            }
            let (labels, teacher) = Self.splitDistillationTargets(target)
            let soft = tape.distillationDivergence(prediction, teacherLogits: teacher, temperature: temperature)
            let hard = tape.softmaxCrossEntropy(prediction, labels: labels)
            return tape.add(tape.scale(soft, by: alpha), tape.scale(hard, by: 1 - alpha))
        }
    }

    /// Rows (label, teacher logits…) (B, 1 + C) split into B labels and logits (B, C).
    public static func splitDistillationTargets(_ target: Tensor) -> (labels: [Int], teacher: Tensor) {
        let (rows, width) = (target.shape[0], target.shape[1])
        let labels = (0..<rows).map { Int(target.scalars[$0 * width]) }
        let teacher = Tensor(shape: [rows, width - 1], scalars: (0..<rows).flatMap { row in
            target.scalars[(row * width + 1)..<((row + 1) * width)]
        })
        return (labels, teacher)
    }
}
