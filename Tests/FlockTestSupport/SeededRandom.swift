/// SplitMix64: a seeded `RandomNumberGenerator` for generated test inputs, so a failure
/// is reproduced by its seed and iteration.
///
/// ```swift
/// var random = SeededRandom(seed: 7)
/// let size = Int.random(in: 1...64, using: &random)
/// ```
public struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed == 0 ? 0x9E37_79B9_7F4A_7C15 : seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in 0..<bound (modulo bias is irrelevant for test inputs).
    public mutating func below(_ bound: Int) -> Int {
        Int(next() % UInt64(bound))
    }

    /// True with probability 1/2.
    public mutating func coin() -> Bool { next() & 1 == 1 }

    /// One of `choices`.
    public mutating func pick<T>(_ choices: [T]) -> T { choices[below(choices.count)] }
}
