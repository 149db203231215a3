import FlockTensor

/// Binary cross-entropy against 0/1 targets: `{name: binary_cross_entropy,
/// from_logits: false}` when the model ends in a sigmoid (default: it outputs logits).
public struct BinaryCrossEntropyLoss: LossKind {
    public static let typeName = "binary_cross_entropy"
    public var fromLogits: Bool?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case fromLogits = "from_logits"
    }

    public init() {}

    public init(fromLogits: Bool) {
        self.fromLogits = fromLogits
    }

    public init(from decoder: any Decoder) throws {
        fromLogits = try Self.container(decoder, CodingKeys.self).decodeIfPresent(Bool.self, forKey: .fromLogits)
    }

    public var reading: OutputReading { .binary(fromLogits: fromLogits ?? true) }

    public func callAsFunction(_ prediction: Variable, target: Tensor) -> Variable {
        prediction.tape.binaryCrossEntropy(prediction, target: target.reshaped(prediction.shape), fromLogits: fromLogits ?? true)
    }
}
