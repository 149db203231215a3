/// The loss kinds a config may name, by their `name:`.
///
/// `LossRegistry.standard` holds Flock's own kinds; a program adds its own with `register`
/// and hands the registry to the config loader, which passes it to decoding through
/// `userInfo[.lossRegistry]`.
///
/// ```swift
/// var losses = LossRegistry.standard
/// losses.register(LogCoshLoss.self)          // loss: {name: log_cosh}
/// let config = try ConfigLoader.load(path: "model.yaml", losses: losses)
/// ```
public typealias LossRegistry = KindRegistry<any LossKind.Type>

extension KindRegistry where Kind == any LossKind.Type {
    public init(_ kinds: [any LossKind.Type]) {
        self.init(kinds, nameOf: { $0.typeName })
    }

    /// Flock's loss kinds: one line per kind.
    public static var standard: LossRegistry {
        LossRegistry([
            CrossEntropyLoss.self,
            BinaryCrossEntropyLoss.self,
            MeanSquaredErrorLoss.self,
            MeanAbsoluteErrorLoss.self,
            HuberLoss.self,
            FocalLoss.self,
            DistillationLoss.self,
            WassersteinLoss.self,
            ContrastiveLoss.self,
            TripletLoss.self,
            SequenceCrossEntropyLoss.self,
        ])
    }
}

extension CodingUserInfoKey {
    /// The `LossRegistry` that decodes `loss:` entries (default `LossRegistry.standard`).
    public static let lossRegistry = CodingUserInfoKey(rawValue: "flock.lossRegistry")!
}
