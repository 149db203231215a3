/// An optimizer kind: what `optimizer:` holds besides the fields every kind shares
/// (`name`, `lr`, `weight_decay`), and the optimizer it makes. A new kind is one type plus
/// one line in `OptimizerRegistry.standard` (or a user's registry).
///
/// Decoding reads the kind's own fields and rejects others
/// (`rejectUnknownKeys(_:alsoAllowed: OptimizerKinds.sharedKeys, owner: "optimizer 'adam'")`).
public protocol OptimizerKind: Codable, Sendable, Equatable {
    /// The `name:` in configs, e.g. `adam`.
    static var typeName: String { get }
    /// The weight decay when the config gives none (0; AdamW's 0.01).
    static var defaultWeightDecay: Double { get }
    /// Every field at its default.
    init()
    /// Throws a `ConfigError` at `path.field` for a field out of range.
    func validate(path: String) throws
    func makeOptimizer(weightDecay: Float) -> any Optimizer
}

extension OptimizerKind {
    public static var defaultWeightDecay: Double { 0 }
    public func validate(path: String) throws {}
    public var name: String { Self.typeName }

    public func isEqual(to other: any OptimizerKind) -> Bool { (other as? Self) == self }

    /// Decodes `Keys` of a kind, rejecting any other key but the shared ones.
    static func container<Keys: CodingKey & CaseIterable>(_ decoder: any Decoder, _: Keys.Type) throws -> KeyedDecodingContainer<Keys> {
        try decoder.rejectUnknownKeys(Keys.self, alsoAllowed: OptimizerRegistry.sharedKeys, owner: "optimizer '\(typeName)'")
        return try decoder.container(keyedBy: Keys.self)
    }
}

/// The optimizer kinds a config may name, by their `name:`; passed to decoding through
/// `userInfo[.optimizerRegistry]` (see `ConfigKinds`).
public typealias OptimizerRegistry = KindRegistry<any OptimizerKind.Type>

extension KindRegistry where Kind == any OptimizerKind.Type {
    /// Keys every optimizer entry may hold besides its kind's own fields.
    public static var sharedKeys: Set<String> { ["name", "lr", "weight_decay"] }

    public init(_ kinds: [any OptimizerKind.Type]) {
        self.init(kinds, nameOf: { $0.typeName })
    }

    /// Flock's optimizer kinds: one line per kind.
    public static var standard: OptimizerRegistry {
        OptimizerRegistry([
            SGD.Spec.self, SGD.MomentumSpec.self, SGD.NesterovSpec.self, AdaGrad.Spec.self, RMSprop.Spec.self,
            Adam.Spec.self, Adam.DecoupledSpec.self,
        ])
    }
}

extension CodingUserInfoKey {
    /// The `OptimizerRegistry` that decodes `optimizer:` (default `OptimizerRegistry.standard`).
    public static let optimizerRegistry = CodingUserInfoKey(rawValue: "flock.optimizerRegistry")!
}
