import Foundation

/// A seeded xoshiro256** generator. Every rank, data loader and layer that needs
/// randomness owns one; streams derived from `(seed, stream)` are independent, so
/// rank `r` of a job seeded `s` draws from `RandomGenerator(seed: s, stream: r)`.
///
/// Its whole state is four words, `Codable`, so a checkpoint can restore it exactly.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
    public private(set) var state: [UInt64]

    public init(seed: UInt64, stream: UInt64 = 0) {
        // SplitMix64 expands (seed, stream) into a well-mixed 256-bit state (Vigna 2015).
        var mixer = seed &+ stream &* 0xD1B5_4A32_D192_ED03
        var words: [UInt64] = []
        for _ in 0..<4 {
            mixer = mixer &+ 0x9E37_79B9_7F4A_7C15
            var z = mixer
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            words.append(z ^ (z >> 31))
        }
        state = words
    }

    /// Encoded as four 16-digit hex strings: JSON numbers do not survive 64 bits.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(state.map { word in
            let digits = String(word, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        })
    }

    public init(from decoder: any Decoder) throws {
        let words = try decoder.singleValueContainer().decode([String].self)
        let parsed = words.compactMap { UInt64($0, radix: 16) }
        guard parsed.count == 4, words.count == 4 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "a generator state is four 64-bit hex words"))
        }
        state = parsed
    }

    /// A generator continuing from a saved `state` (four words).
    public init(state: [UInt64]) {
        precondition(state.count == 4, "a generator state has 4 words, got \(state.count)")
        self.state = state
    }

    public mutating func next() -> UInt64 {
        let result = rotateLeft(state[1] &* 5, 7) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = rotateLeft(state[3], 45)
        return result
    }

    /// Uniform in [0, 1), 24 random bits.
    public mutating func nextUniform() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [low, high).
    public mutating func nextUniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * nextUniform()
    }

    /// Standard normal by the Box–Muller transform.
    public mutating func nextNormal() -> Float {
        let u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let radius = (-2 * Foundation.log(Swift.max(u1, .leastNonzeroMagnitude))).squareRoot()
        return Float(radius * cos(2 * Double.pi * u2))
    }

    /// A uniformly random permutation of `0..<count` (Fisher–Yates).
    public mutating func permutation(_ count: Int) -> [Int] {
        var indices = Array(0..<count)
        if count < 2 { return indices }
        for i in stride(from: count - 1, to: 0, by: -1) {
            let j = Int(next() % UInt64(i + 1))
            indices.swapAt(i, j)
        }
        return indices
    }

    private func rotateLeft(_ x: UInt64, _ k: UInt64) -> UInt64 {
        (x << k) | (x >> (64 - k))
    }
}

extension Tensor {
    public static func uniform(shape: [Int], low: Float = 0, high: Float = 1,
                               using generator: inout RandomGenerator) -> Tensor {
        Tensor(shape: shape, scalars: (0..<elementCount(of: shape)).map { _ in generator.nextUniform(low, high) })
    }

    public static func normal(shape: [Int], mean: Float = 0, standardDeviation: Float = 1,
                              using generator: inout RandomGenerator) -> Tensor {
        Tensor(shape: shape, scalars: (0..<elementCount(of: shape)).map { _ in
            mean + standardDeviation * generator.nextNormal()
        })
    }
}
