/// The layer kinds a config may name, by their `type:`.
///
/// `LayerRegistry.standard` holds Flock's own kinds; a program adds its own with
/// `register` and hands the registry to the config loader, which passes it to decoding
/// through `userInfo[.layerRegistry]`.
///
/// ```swift
/// var kinds = ConfigKinds.standard
/// kinds.layers.register(Scale.Spec.self)        // {type: scale, factor: 2}
/// let config = try ConfigLoader.load(path: "model.yaml", kinds: kinds)
/// ```
public struct LayerRegistry: Sendable {
    /// Registered kinds in registration order (the order errors list them in).
    public private(set) var kinds: [any LayerSpec.Type]

    public init(_ kinds: [any LayerSpec.Type]) {
        self.kinds = []
        for kind in kinds { register(kind) }
    }

    /// Flock's layer kinds: one line per kind.
    public static let standard = LayerRegistry([
        Dense.Spec.self,
        Dropout.Spec.self,
        Flatten.Spec.self,
        ActivationLayer.Spec.self,
        Sequential.Spec.self,
        Residual.Spec.self,
        Conv2D.Spec.self,
        SeparableConv2D.Spec.self,
        MaxPool2DSpec.self,
        AvgPool2DSpec.self,
        GlobalAveragePool.Spec.self,
        BatchNorm.Spec.self,
        LayerNorm.Spec.self,
        GroupNorm.Spec.self,
        Embedding.Spec.self,
        PositionalEncoding.Spec.self,
        MultiHeadAttention.Spec.self,
        TransformerEncoder.Spec.self,
        SequencePool.Spec.self,
        SimpleRNN.Spec.self,
        LSTM.Spec.self,
        GRU.Spec.self,
        GaussianNoise.Spec.self,
    ])

    /// Adds a kind; a kind with the same `typeName` is replaced.
    public mutating func register(_ kind: any LayerSpec.Type) {
        kinds.removeAll { $0.typeName == kind.typeName }
        kinds.append(kind)
    }

    public func kind(named typeName: String) -> (any LayerSpec.Type)? {
        kinds.first { $0.typeName == typeName }
    }
}

extension CodingUserInfoKey {
    /// The `LayerRegistry` that decodes `model:` entries (default `LayerRegistry.standard`).
    public static let layerRegistry = CodingUserInfoKey(rawValue: "flock.layerRegistry")!
}
