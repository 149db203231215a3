/// Kinds a config picks by name (`type: dense`, `loss: {name: focal}`, `sampler: {name:
/// tpe}`), each under one name, in registration order (the order errors list them in).
/// `LayerRegistry`, `LossRegistry`, `OptimizerRegistry`, `ScheduleRegistry` and the
/// sweep's `SamplerRegistry` and `PrunerRegistry` are this registry over their kind types;
/// a program adds its own kinds with `register` and hands the registry to the loader.
public struct KindRegistry<Kind: Sendable>: Sendable {
    /// Registered kinds in registration order.
    public private(set) var kinds: [Kind]
    /// A kind's name in configs (its type's `typeName`).
    private let nameOf: @Sendable (Kind) -> String

    public init(_ kinds: [Kind], nameOf: @escaping @Sendable (Kind) -> String) {
        self.kinds = []
        self.nameOf = nameOf
        for kind in kinds { register(kind) }
    }

    /// The registered names, in registration order.
    public var names: [String] { kinds.map(nameOf) }

    /// Adds a kind; a kind with the same name is replaced.
    public mutating func register(_ kind: Kind) {
        let name = nameOf(kind)
        kinds.removeAll { nameOf($0) == name }
        kinds.append(kind)
    }

    public func kind(named name: String) -> Kind? {
        kinds.first { nameOf($0) == name }
    }
}
