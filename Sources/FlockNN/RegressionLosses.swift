import FlockTensor

/// The losses on values in the targets' units: `mse`, `mae` and `{name: huber, delta: 1}`.
/// Targets have the prediction's shape.
public struct MeanSquaredErrorLoss: FieldlessLossKind {
    public static let typeName = "mse"

    public init() {}

    public var reading: OutputReading { .values }

    public func callAsFunction(_ prediction: Variable, target: Tensor) -> Variable {
        prediction.tape.meanSquaredError(prediction, target: target.reshaped(prediction.shape))
    }
}

public struct MeanAbsoluteErrorLoss: FieldlessLossKind {
    public static let typeName = "mae"

    public init() {}

    public var reading: OutputReading { .values }

    public func callAsFunction(_ prediction: Variable, target: Tensor) -> Variable {
        prediction.tape.meanAbsoluteError(prediction, target: target.reshaped(prediction.shape))
    }
}

/// Squared below `delta`, linear above it.
public struct HuberLoss: LossKind {
    public static let typeName = "huber"
    /// The threshold δ (default 1).
    public var delta: Double?

    enum CodingKeys: String, CodingKey, CaseIterable { case delta }

    public init() {}

    public init(delta: Double) {
        self.delta = delta
    }

    public init(from decoder: any Decoder) throws {
        delta = try Self.container(decoder, CodingKeys.self).decodeIfPresent(Double.self, forKey: .delta)
    }

    public func validate(path: String) throws {
        try Check.positive(delta ?? 1, "\(path).delta")
    }

    public var reading: OutputReading { .values }

    public func callAsFunction(_ prediction: Variable, target: Tensor) -> Variable {
        prediction.tape.huber(prediction, target: target.reshaped(prediction.shape), delta: Float(delta ?? 1))
    }
}
