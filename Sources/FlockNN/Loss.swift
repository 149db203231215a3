import FlockTensor

/// A training objective: a weighted sum of loss terms, each a registered `LossKind`
/// reading the model's output against the batch's targets or features. The first term
/// decides how the output is read (metrics, predictions, the output width).
///
/// ```swift
/// let loss = Loss.crossEntropy(labelSmoothing: 0.1)
/// let both = Loss(terms: [.init(CrossEntropyLoss()), .init(FocalLoss(gamma: 2), weight: 0.5)])
/// ```
public struct Loss: Sendable, CustomStringConvertible {
    /// One term: `weight · kind(output, target)`.
    public struct Term: Sendable {
        public var kind: any LossKind
        public var weight: Float
        public var target: LossTarget

        public init(_ kind: any LossKind, weight: Float = 1, target: LossTarget = .targets) {
            self.kind = kind
            self.weight = weight
            self.target = target
        }
    }

    /// At least one term.
    public let terms: [Term]

    public init(terms: [Term]) {
        precondition(!terms.isEmpty, "a loss needs at least one term")
        self.terms = terms
    }

    public init(_ kind: any LossKind) {
        self.init(terms: [Term(kind)])
    }

    /// The first term's kind: how the model's output is read.
    public var primary: any LossKind { terms[0].kind }
    public var reading: OutputReading { primary.reading }
    /// Whether targets are class indices (and accuracy-like metrics apply).
    public var isClassification: Bool { reading.isClassification }
    /// Whether the model outputs one logit per class, read through a softmax.
    public var isSoftmaxClassifier: Bool { reading == .classLogits }
    /// What the first term compares the output with.
    public var primaryTarget: LossTarget { terms[0].target }

    /// The loss's name in configs (`cross_entropy`; `cross_entropy + 0.5·focal` for a sum).
    public var name: String {
        terms.map { term in
            (term.weight == 1 ? "" : "\(term.weight)·") + term.kind.name + (term.target == .targets ? "" : "(\(term.target.rawValue))")
        }.joined(separator: " + ")
    }

    public var description: String { "Loss(\(name): \(terms.map { String(describing: $0.kind) }.joined(separator: ", ")))" }

    /// The loss of `prediction` on its tape: each term against the batch's `target` or
    /// `features`, weighted and summed. One term of weight 1 is that term's loss as it is.
    public func callAsFunction(_ prediction: Variable, target: Tensor, features: Tensor? = nil) -> Variable {
        let tape = prediction.tape
        var total: Variable?
        for term in terms {
            let compared: Tensor
            switch term.target {
            case .targets: compared = target
            case .features:
                guard let features else { preconditionFailure("loss term '\(term.kind.name)' reads the features; pass them") }
                compared = features
            }
            var value = term.kind(prediction, target: compared)
            if term.weight != 1 { value = tape.scale(value, by: term.weight) }
            total = total.map { tape.add($0, value) } ?? value
        }
        return total!
    }

    /// Whether targets may be class distributions (mixup's): every term on the targets takes them.
    public var acceptsClassDistributions: Bool {
        terms.allSatisfy { $0.target != .targets || $0.kind.acceptsClassDistributions }
    }

    /// What metrics compare the output with: what the first term reads (the features for
    /// a reconstruction; class indices from distillation's rows or mixup's distributions).
    public func metricTargets(_ targets: Tensor, features: Tensor) -> Tensor {
        primaryTarget == .features ? features : primary.metricTargets(targets)
    }

    /// Softmax cross-entropy from logits.
    public static func crossEntropy(labelSmoothing: Float = 0, classWeights: [Float]? = nil) -> Loss {
        Loss(CrossEntropyLoss(labelSmoothing: Double(labelSmoothing), classWeights: classWeights?.map(Double.init)))
    }
    public static var meanSquaredError: Loss { Loss(MeanSquaredErrorLoss()) }
    public static var meanAbsoluteError: Loss { Loss(MeanAbsoluteErrorLoss()) }
    public static func huber(delta: Float) -> Loss { Loss(HuberLoss(delta: Double(delta))) }
    public static func binaryCrossEntropy(fromLogits: Bool) -> Loss { Loss(BinaryCrossEntropyLoss(fromLogits: fromLogits)) }
    public static func focal(gamma: Float) -> Loss { Loss(FocalLoss(gamma: Double(gamma))) }
    public static func distillation(temperature: Float, alpha: Float) -> Loss {
        Loss(DistillationLoss(temperature: Double(temperature), alpha: Double(alpha)))
    }
}
