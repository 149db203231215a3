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
public typealias LayerRegistry = KindRegistry<any LayerSpec.Type>

extension KindRegistry where Kind == any LayerSpec.Type {
    public init(_ kinds: [any LayerSpec.Type]) {
        self.init(kinds, nameOf: { $0.typeName })
    }

    /// Flock's layer kinds: one line per kind.
    public static var standard: LayerRegistry {
        LayerRegistry([
            Dense.Spec.self,
            Dropout.Spec.self,
            Flatten.Spec.self,
            ActivationLayer.Spec.self,
            Sequential.Spec.self,
            Residual.Spec.self,
            Conv1D.Spec.self,
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
            TransformerDecoder.Spec.self,
            SequencePool.Spec.self,
            SimpleRNN.Spec.self,
            LSTM.Spec.self,
            GRU.Spec.self,
            GaussianNoise.Spec.self,
            Sampling.Spec.self,
            LatentNoise.Spec.self,
            StopGradient.Spec.self,
        ])
    }
}

extension CodingUserInfoKey {
    /// The `LayerRegistry` that decodes `model:` entries (default `LayerRegistry.standard`).
    public static let layerRegistry = CodingUserInfoKey(rawValue: "flock.layerRegistry")!
}
