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
public struct LossRegistry: Sendable {
    /// Registered kinds in registration order (the order errors list them in).
    public private(set) var kinds: [any LossKind.Type]

    public init(_ kinds: [any LossKind.Type]) {
        self.kinds = []
        for kind in kinds { register(kind) }
    }

    /// Flock's loss kinds: one line per kind.
    public static let standard = LossRegistry([
        CrossEntropyLoss.self,
        BinaryCrossEntropyLoss.self,
        MeanSquaredErrorLoss.self,
        MeanAbsoluteErrorLoss.self,
        HuberLoss.self,
        FocalLoss.self,
        DistillationLoss.self,
    ])

    /// Adds a kind; a kind with the same `typeName` is replaced.
    public mutating func register(_ kind: any LossKind.Type) {
        kinds.removeAll { $0.typeName == kind.typeName }
        kinds.append(kind)
    }

    public func kind(named typeName: String) -> (any LossKind.Type)? {
        kinds.first { $0.typeName == typeName }
    }

    /// The registered names, in order.
    public var names: [String] { kinds.map { $0.typeName } }
}

extension CodingUserInfoKey {
    /// The `LossRegistry` that decodes `loss:` entries (default `LossRegistry.standard`).
    public static let lossRegistry = CodingUserInfoKey(rawValue: "flock.lossRegistry")!
}
