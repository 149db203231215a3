import FlockTensor

/// Softmax cross-entropy from logits: `{name: cross_entropy, label_smoothing: 0.1,
/// class_weights: [1, 2, 1]}`. Targets are class indices (B), or class distributions
/// (B, C) as mixup makes them.
public struct CrossEntropyLoss: LossKind {
    public static let typeName = "cross_entropy"
    /// ε in [0, 1).
    public var labelSmoothing: Double?
    /// One weight per class.
    public var classWeights: [Double]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case labelSmoothing = "label_smoothing"
        case classWeights = "class_weights"
    }

    public init() {}

    public init(labelSmoothing: Double? = nil, classWeights: [Double]? = nil) {
        self.labelSmoothing = labelSmoothing
        self.classWeights = classWeights
    }

    public init(from decoder: any Decoder) throws {
        let c = try Self.container(decoder, CodingKeys.self)
        labelSmoothing = try c.decodeIfPresent(Double.self, forKey: .labelSmoothing)
        classWeights = try c.decodeIfPresent([Double].self, forKey: .classWeights)
    }

    public func validate(path: String) throws {
        try Check.inRange(labelSmoothing ?? 0, 0, 1, "\(path).label_smoothing")
        for (index, weight) in (classWeights ?? []).enumerated() {
            try Check.nonNegative(weight, "\(path).class_weights[\(index)]")
        }
    }

    public var reading: OutputReading { .classLogits }
    public var classWeightCount: Int? { classWeights?.count }
    public var acceptsClassDistributions: Bool { true }

    public func callAsFunction(_ prediction: Variable, target: Tensor) -> Variable {
        let smoothing = Float(labelSmoothing ?? 0)
        if target.rank == 2 && target.shape == prediction.shape {
            // Target distributions (mixup); class weights are rejected for them at configuration.
            return prediction.tape.softmaxCrossEntropy(prediction, targetDistributions: target, labelSmoothing: smoothing)
        }
        return prediction.tape.softmaxCrossEntropy(prediction, labels: target.scalars.map { Int($0) }, labelSmoothing: smoothing,
                                                   classWeights: classWeights?.map(Float.init))
    }

    /// Class distributions (mixup's) count as their larger class; class indices pass.
    public func metricTargets(_ targets: Tensor) -> Tensor {
        guard targets.rank == 2, targets.shape[1] > 1 else { return targets }
        let classes = targets.shape[1]
        return Tensor(shape: [targets.shape[0]], scalars: (0..<targets.shape[0]).map { row in
            let values = targets.scalars[(row * classes)..<((row + 1) * classes)]
            return Float(values.indices.max { values[$0] < values[$1] }! - row * classes)
        })
    }
}
