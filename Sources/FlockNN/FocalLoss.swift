import FlockTensor

/// Softmax focal loss from logits (Lin et al. 2017): `{name: focal, gamma: 2}`, γ ≥ 0;
/// targets are class indices.
public struct FocalLoss: LossKind {
    public static let typeName = "focal"
    /// The focusing exponent γ (default 2).
    public var gamma: Double?

    enum CodingKeys: String, CodingKey, CaseIterable { case gamma }

    public init() {}

    public init(gamma: Double) {
        self.gamma = gamma
    }

    public init(from decoder: any Decoder) throws {
        gamma = try Self.container(decoder, CodingKeys.self).decodeIfPresent(Double.self, forKey: .gamma)
    }

    public func validate(path: String) throws {
        try Check.inRange(gamma ?? 2, 0, 100, "\(path).gamma")
    }

    public var reading: OutputReading { .classLogits }

    public func callAsFunction(_ prediction: Variable, target: Tensor) -> Variable {
        prediction.tape.focalLoss(prediction, labels: target.scalars.map { Int($0) }, gamma: Float(gamma ?? 2))
    }
}
