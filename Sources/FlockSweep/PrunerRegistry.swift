import FlockNN

/// The pruner kinds a sweep file may name in `pruner: {name: …}`; used like
/// `SamplerRegistry`, through `userInfo[.prunerRegistry]`.
///
/// ```swift
/// var pruners = PrunerRegistry.standard
/// pruners.register(Patience.self)            // pruner: {name: patience, epochs: 3}
/// let sweep = try SweepConfig.load(path: "sweep.yaml", pruners: pruners)
/// ```
public typealias PrunerRegistry = KindRegistry<any PrunerSpec.Type>

extension KindRegistry where Kind == any PrunerSpec.Type {
    public init(_ kinds: [any PrunerSpec.Type]) {
        self.init(kinds, nameOf: { $0.typeName })
    }

    /// Flock's pruner kinds: one line per kind.
    public static var standard: PrunerRegistry {
        PrunerRegistry([
            NoPrunerSpec.self,
            MedianPrunerSpec.self,
            SuccessiveHalvingPrunerSpec.self,
            HyperbandPrunerSpec.self,
        ])
    }
}

extension CodingUserInfoKey {
    /// The `PrunerRegistry` that decodes a sweep file's `pruner:` (default `.standard`).
    public static let prunerRegistry = CodingUserInfoKey(rawValue: "flock.prunerRegistry")!
}
