import FlockTensor

/// A lookup table of learned vectors, one per token id: per-sample token ids (T) give
/// (T, D). The ids are the feature values as the data holds them (integers in 0..<V, no
/// normalization: `data.sequence.tokens` checks them when the data is read).
///
/// With `padding_id` the positions holding that id are marked as padding in the forward
/// context, so later attention layers hide them and mean pooling skips them.
///
/// Parameters: `<path>.weight` (V, D) — PyTorch's `nn.Embedding` layout.
public struct Embedding: Layer {
    public let table: ParameterSlot
    public let paddingID: Int?
    public let outputShape: [Int]

    public var ownParameters: [ParameterSlot] { [table] }
    public var marksPadding: Bool { paddingID != nil }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let ids = tableIDs(input.value)
        if let paddingID {
            context.sequencePadding = ids.map { $0 == Float(paddingID) ? 1 : 0 }
        }
        return context.tape.embedding(ids: ids, table: table)
    }

    /// (B, T): 1 where the batch's token ids are padding, as `forward` marks them; nil
    /// without `padding_id`.
    public func paddingMask(forModelInput tokenIDs: Tensor) -> Tensor? {
        guard let paddingID else { return nil }
        return tableIDs(tokenIDs).map { $0 == Float(paddingID) ? 1 : 0 }
    }

    /// Ids the data check did not see (a library caller's tensor) are clamped into the
    /// table rather than trapping; `data.sequence.tokens` rejects them with the line.
    private func tableIDs(_ values: Tensor) -> Tensor {
        let vocabulary = table.shape[0]
        return values.map { id in id.isNaN ? 0 : Swift.min(Swift.max(id.rounded(.towardZero), 0), Float(vocabulary - 1)) }
    }

    /// `{type: embedding, vocabulary: 32, units: 64, padding_id: 0}`
    public struct Spec: LayerSpec, Equatable {
        public static let typeName = "embedding"
        /// V: ids run over 0..<V.
        public var vocabulary: Int
        /// D: the width of each vector.
        public var units: Int
        public var paddingID: Int?

        public init(vocabulary: Int, units: Int, paddingID: Int? = nil) {
            self.vocabulary = vocabulary
            self.units = units
            self.paddingID = paddingID
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case vocabulary, units
            case paddingID = "padding_id"
        }

        public init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: LayerConfig.sharedKeys, owner: "an embedding layer")
            let c = try decoder.container(keyedBy: CodingKeys.self)
            guard let vocabulary = try c.decodeIfPresent(Int.self, forKey: .vocabulary) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.vocabulary), "an embedding layer needs vocabulary")
            }
            guard let units = try c.decodeIfPresent(Int.self, forKey: .units) else {
                throw ConfigError(path: decoder.fieldPath(CodingKeys.units), "an embedding layer needs units")
            }
            try Check.within(vocabulary, 1, 1 << 24, decoder.fieldPath(CodingKeys.vocabulary))
            try Check.within(units, 1, 1 << 16, decoder.fieldPath(CodingKeys.units))
            let paddingID = try c.decodeIfPresent(Int.self, forKey: .paddingID)
            if let paddingID { try Check.within(paddingID, 0, vocabulary - 1, decoder.fieldPath(CodingKeys.paddingID)) }
            self.init(vocabulary: vocabulary, units: units, paddingID: paddingID)
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(vocabulary, forKey: .vocabulary)
            try c.encode(units, forKey: .units)
            try c.encodeIfPresent(paddingID, forKey: .paddingID)
        }

        public func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            guard vocabulary > 0, units > 0 else {
                throw builder.error("an embedding layer needs a positive vocabulary and units, got \(vocabulary) and \(units)")
            }
            guard inputShape.count == 1, inputShape[0] > 0 else {
                throw builder.error("an embedding layer reads per-sample token ids of shape (steps), got \(inputShape); set data.sequence: {steps: T, tokens: V}")
            }
            // N(0, 1) as PyTorch's nn.Embedding.
            let table = builder.parameter("weight", shape: [vocabulary, units], isDecayed: true,
                                          initializer: .normal(mean: 0, standardDeviation: 1))
            if let paddingID {
                // The padding row starts at zero, as PyTorch's padding_idx.
                builder.zero((paddingID * units)..<((paddingID + 1) * units), of: table)
            }
            return Embedding(table: table, paddingID: paddingID, outputShape: inputShape + [units])
        }
    }
}

extension LayerConfig {
    /// Learned vectors for token ids 0..<vocabulary.
    public static func embedding(vocabulary: Int, units: Int, paddingID: Int? = nil) -> LayerConfig {
        LayerConfig(Embedding.Spec(vocabulary: vocabulary, units: units, paddingID: paddingID))
    }
}
