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
        /// The model output it reads (`output` for a layer list; a graph's named one).
        public var output: String

        public init(_ kind: any LossKind, weight: Float = 1, target: LossTarget = .targets,
                    output: String = LossTermConfig.modelOutput) {
            self.kind = kind
            self.weight = weight
            self.target = target
            self.output = output
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
    /// How the output is read: the first term's kind's reading, but values in the input's
    /// units when that term compares it with an input (a reconstruction, also by binary
    /// cross-entropy on pixels in [0, 1]).
    public var reading: OutputReading { primaryTarget.isInput ? .values : primary.reading }
    /// Whether targets are class indices (and accuracy-like metrics apply).
    public var isClassification: Bool { reading.isClassification }
    /// Whether the model outputs one logit per class, read through a softmax.
    public var isSoftmaxClassifier: Bool { reading == .classLogits }
    /// What the first term compares the output with.
    public var primaryTarget: LossTarget { terms[0].target }
    /// The output the first term reads: the one metrics and predictions read.
    public var primaryOutput: String { terms[0].output }

    /// The loss's name in configs (`cross_entropy`; `cross_entropy + 0.5·focal` for a sum).
    public var name: String {
        terms.map { term in
            (term.weight == 1 ? "" : "\(term.weight)·") + term.kind.name + (term.target == .targets ? "" : "(\(term.target.rawValue))")
                + (term.output == LossTermConfig.modelOutput ? "" : "[\(term.output)]")
        }.joined(separator: " + ")
    }

    public var description: String { "Loss(\(name): \(terms.map { String(describing: $0.kind) }.joined(separator: ", ")))" }

    /// The loss of `prediction` on its tape: each term against the batch's `target` or
    /// `features`, weighted and summed. One term of weight 1 is that term's loss as it is.
    public func callAsFunction(_ prediction: Variable, target: Tensor, features: Tensor? = nil) -> Variable {
        self([LossTermConfig.modelOutput: prediction], target: target,
             inputs: features.map { [LossTarget.features.rawValue: $0] } ?? [:])
    }

    /// The loss of a model's named `outputs`: each term's output against the batch's
    /// `target` or one of `inputs` (`features`, a graph's named inputs), weighted and
    /// summed, then the terms layers `added` themselves (already weighted).
    /// A term over the global batch (`GlobalBatchLoss`: triplet mining) gathers its rows
    /// with `gather` (nil: this rank's rows).
    public func callAsFunction(_ outputs: [String: Variable], target: Tensor, inputs: [String: Tensor],
                               added: [Variable] = [], gather: BatchGather? = nil) -> Variable {
        var total: Variable?
        for term in terms {
            guard let prediction = outputs[term.output] else {
                preconditionFailure("loss term '\(term.kind.name)' reads output '\(term.output)', which the model does not have")
            }
            let tape = prediction.tape
            let compared: Tensor
            if term.target == .targets {
                compared = target
            } else if let constant = term.target.constant {
                compared = Tensor(repeating: constant, shape: prediction.shape)
            } else if let input = inputs[term.target.rawValue] {
                compared = input
            } else {
                preconditionFailure("loss term '\(term.kind.name)' reads '\(term.target.rawValue)'; pass it")
            }
            var value = (term.kind as? any GlobalBatchLoss).map { $0(prediction, target: compared, gather: gather) }
                ?? term.kind(prediction, target: compared)
            if term.weight != 1 { value = tape.scale(value, by: term.weight) }
            total = total.map { tape.add($0, value) } ?? value
        }
        return added.reduce(total!) { $0.tape.add($0, $1) }
    }

    /// Whether the first term compares embeddings with class labels (a triplet loss).
    public var embedsLabels: Bool { primary.embedsLabels }

    /// Whether a term is computed over the global batch (it needs a `BatchGather`).
    public var gathersGlobalBatch: Bool { terms.contains { $0.kind is any GlobalBatchLoss } }

    /// Whether targets may be class distributions (mixup's): every term on the targets takes them.
    public var acceptsClassDistributions: Bool {
        terms.allSatisfy { $0.target != .targets || $0.kind.acceptsClassDistributions }
    }

    /// What metrics compare the output with: what the first term reads (the features for
    /// a reconstruction; class indices from distillation's rows or mixup's distributions),
    /// with a graph's named inputs (`Model.inputTensors(_:readBy:)`) to read from.
    public func metricTargets(_ targets: Tensor, inputs: [String: Tensor]) -> Tensor {
        guard primaryTarget != .targets else { return primary.metricTargets(targets) }
        if let constant = primaryTarget.constant {
            return Tensor(repeating: constant, shape: [targets.shape.first ?? 0])
        }
        guard let input = inputs[primaryTarget.rawValue] else {
            preconditionFailure("the loss's first term reads '\(primaryTarget.rawValue)'; pass it")
        }
        return input
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
