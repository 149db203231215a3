import Foundation

/// A counter-based random stream (Salmon et al., "Parallel random numbers: as easy as 1,
/// 2, 3", 2011): draw i is a pure function of (key, i) — SplitMix64's output at position
/// i of the stream keyed by `key` — so any element range can be drawn on its own, in any
/// order, on any rank. Parameter i's initial values come from the stream keyed by
/// (seed, parameter path): a rank materializes only the slices it owns and gets the values
/// every other layout gets.
public struct CounterRandom: Sendable, Equatable {
    public let key: UInt64

    public init(key: UInt64) { self.key = key }

    /// The stream of `name` (a parameter path) under `seed`.
    public init(seed: UInt64, name: String) {
        // FNV-1a over the name's bytes, then mixed with the seed.
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        key = Self.mix(seed ^ Self.mix(hash))
    }

    /// The 64 random bits at position `counter`.
    @inlinable
    public func bits(_ counter: UInt64) -> UInt64 {
        Self.mix(key &+ (counter &+ 1) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// Uniform in [0, 1) from position `counter` (24 bits, as `RandomGenerator.nextUniform`).
    @inlinable
    public func uniform(_ counter: UInt64) -> Float {
        Float(bits(counter) >> 40) * (1.0 / 16_777_216.0)
    }

    /// Standard normal for element `index` (Box–Muller over positions 2·index and 2·index + 1).
    @inlinable
    public func normal(_ index: UInt64) -> Float {
        let u1 = Double(bits(2 &* index) >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(bits(2 &* index &+ 1) >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let radius = (-2 * Foundation.log(Swift.max(u1, .leastNonzeroMagnitude))).squareRoot()
        return Float(radius * Foundation.cos(2 * Double.pi * u2))
    }

    /// SplitMix64's finalizer (Steele, Lea & Flood 2014).
    @inlinable
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
