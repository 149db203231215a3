import FlockNN

/// The sampler kinds a sweep file may name in `sampler: {name: …}`.
///
/// `SamplerRegistry.standard` holds Flock's kinds; a program adds its own with `register`
/// and hands the registry to `SweepConfig.load` or `parse`, which pass it to decoding
/// through `userInfo[.samplerRegistry]`.
///
/// ```swift
/// var samplers = SamplerRegistry.standard
/// samplers.register(Fixed.self)              // sampler: {name: fixed}
/// let sweep = try SweepConfig.load(path: "sweep.yaml", samplers: samplers)
/// ```
public typealias SamplerRegistry = KindRegistry<any SamplerSpec.Type>

extension KindRegistry where Kind == any SamplerSpec.Type {
    public init(_ kinds: [any SamplerSpec.Type]) {
        self.init(kinds, nameOf: { $0.typeName })
    }

    /// Flock's sampler kinds: one line per kind.
    public static var standard: SamplerRegistry {
        SamplerRegistry([
            GridSamplerSpec.self,
            RandomSamplerSpec.self,
            TPESamplerSpec.self,
            GPSamplerSpec.self,
            AutoSamplerSpec.self,
        ])
    }
}

extension CodingUserInfoKey {
    /// The `SamplerRegistry` that decodes a sweep file's `sampler:` (default `.standard`).
    public static let samplerRegistry = CodingUserInfoKey(rawValue: "flock.samplerRegistry")!
}
