/// A pruner kind as a sweep file names it (`pruner: {name: asha, min_resource: 1}`): its
/// own fields, decoded and checked, and the pruner they make.
///
/// A new kind is one type conforming to this protocol, registered in a `PrunerRegistry`
/// that is handed to `SweepConfig.load`/`parse`. Like a `SamplerSpec`, its decoder reads
/// the whole mapping and reads its own keys with `fields(_:of:)`, which rejects the rest.
public protocol PrunerSpec: Decodable, Sendable {
    /// The `name:` in sweep files, e.g. `asha`.
    static var typeName: String { get }
    /// The pruner; `epochs` is the base config's, the most steps a trial reports.
    func make(epochs: Int) -> any Pruner
}
