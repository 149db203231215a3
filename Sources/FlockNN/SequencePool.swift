import FlockTensor

/// Reduces a sequence (B, T, C) to one vector per sample (B, C) for a classifier head:
/// the `mean` over positions (skipping padding when an embedding marked it), the `last`
/// position (a recurrent layer's summary, or a causal model's), or the `first` (a CLS
/// token the data puts at position 0, as BERT).
public struct SequencePool: Layer {
    public let mode: Mode
    public let outputShape: [Int]

    public enum Mode: String, Sendable, CaseIterable {
        case mean, last, first
    }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let tape = context.tape
        let (batch, steps, width) = (input.shape[0], input.shape[1], input.shape[2])
        switch mode {
        case .first, .last:
            let t = mode == .first ? 0 : steps - 1
            return tape.reshape(tape.slice(input, axis: 1, range: t..<(t + 1)), to: [batch, width])
        case .mean:
            // Weights 1/(kept positions) on kept positions, 0 on padding: (B, T).
            var weights = Tensor(repeating: 1 / Float(steps), shape: [batch, steps])
            if let padding = context.sequencePadding, padding.shape == [batch, steps] {
                for b in 0..<batch {
                    let kept = (0..<steps).filter { padding.scalars[b * steps + $0] == 0 }.count
                    for t in 0..<steps {
                        weights.scalars[b * steps + t] = padding.scalars[b * steps + t] == 0 ? 1 / Float(Swift.max(kept, 1)) : 0
                    }
                }
            }
            return tape.weightedStepSum(input, weights: weights)
        }
    }

    /// `{type: sequence_pool, mode: mean}` (`last`, `first`).
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "sequence_pool"
        public var mode: Mode

        public init(mode: Mode = .mean) { self.mode = mode }

        enum CodingKeys: String, CodingKey, CaseIterable { case mode }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "a sequence_pool layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let mode = try c.value(.mode, or: Mode.mean.rawValue)
            try Check.oneOf(mode, Mode.allCases.map(\.rawValue), decoder.fieldPath(CodingKeys.mode), what: "pooling mode")
            self.init(mode: Mode(rawValue: mode)!)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(mode.rawValue, forKey: .mode)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard inputShape.count == 2, inputShape.allSatisfy({ $0 > 0 }) else {
                throw builder.error("a sequence_pool layer needs per-sample sequences of shape (steps, features), got \(inputShape)")
            }
            return SequencePool(mode: mode, outputShape: [inputShape[1]])
        }
    }
}

extension LayerConfig {
    /// (T, C) → (C): the mean, last or first position.
    public static func sequencePool(_ mode: SequencePool.Mode = .mean) -> LayerConfig {
        LayerConfig(SequencePool.Spec(mode: mode))
    }
}
