import Foundation

/// A seeded random-mutation fuzzer for readers of outside input: it takes valid example
/// inputs and damages them (bit flips, deleted and repeated spans, numbers swapped for
/// extremes such as `-1`, `2^62`, `1e308`, `.nan`), 1–4 mutations at a time. The same seed
/// gives the same inputs, so a failure is reproduced by its seed and iteration.
///
/// `FLOCK_FUZZ_ITERATIONS` sets how many inputs each target gets (a short run by default,
/// for CI); `FLOCK_FUZZ_SEED` picks the seed.
///
/// ```swift
/// var fuzzer = MutationFuzzer(seeds: [Data(validYAML.utf8)])
/// fuzzer.run(iterations: MutationFuzzer.iterations(default: 300)) { input in
///     _ = try? ConfigLoader.decode(yaml: String(decoding: input, as: UTF8.self), baseDirectory: "/")
/// }
/// ```
public struct MutationFuzzer {
    public let seeds: [Data]
    private var generator: SeededRandom

    /// Numbers at the edges of what readers convert: signs, powers of two near Int32/Int
    /// limits, floats that overflow or are not numbers.
    public static let extremeNumbers = [
        "-1", "0", "1", "-0", "65536", "2147483647", "2147483648", "4294967296", "16777217", "4611686018427387904",
        "9223372036854775807", "-9223372036854775808", "18446744073709551616", "1e30", "1e308", "-1e308", "1e-320",
        ".nan", ".inf", "-.inf", "nan", "inf", "NaN", "1e999",
    ]
    static let structuralBytes: [UInt8] = Array("\0\n\r\t \"',:;[]{}-#&*!|>%@\\".utf8) + [0xFF, 0xC3, 0x80]

    public init(seeds: [Data], seed: UInt64 = MutationFuzzer.seedFromEnvironment) {
        precondition(!seeds.isEmpty, "a fuzzer needs at least one valid input to mutate")
        self.seeds = seeds
        generator = SeededRandom(seed: seed)
    }

    /// `FLOCK_FUZZ_ITERATIONS`, or `fallback` (the short CI run).
    public static func iterations(default fallback: Int) -> Int {
        ProcessInfo.processInfo.environment["FLOCK_FUZZ_ITERATIONS"].flatMap(Int.init).map { max($0, 1) } ?? fallback
    }

    public static var seedFromEnvironment: UInt64 {
        ProcessInfo.processInfo.environment["FLOCK_FUZZ_SEED"].flatMap(UInt64.init) ?? 20_261_122
    }

    /// Calls `body` with `iterations` mutated inputs (and each seed once, unmutated).
    public mutating func run(iterations: Int, _ body: (Data) throws -> Void) rethrows {
        for seed in seeds { try body(seed) }
        for _ in 0..<iterations { try body(next()) }
    }

    /// The next mutated input.
    public mutating func next() -> Data {
        var bytes = [UInt8](seeds[random(seeds.count)])
        for _ in 0...random(4) { mutate(&bytes) }
        return Data(bytes)
    }

    private mutating func mutate(_ bytes: inout [UInt8]) {
        guard !bytes.isEmpty else { bytes = Array(Self.extremeNumbers[random(Self.extremeNumbers.count)].utf8); return }
        let at = random(bytes.count)
        switch random(7) {
        case 0: bytes[at] ^= UInt8(1) << UInt8(random(8))
        case 1: bytes[at] = Self.structuralBytes[random(Self.structuralBytes.count)]
        case 2: bytes.removeSubrange(at..<min(bytes.count, at + 1 + random(16)))
        case 3:
            let span = Array(bytes[at..<min(bytes.count, at + 1 + random(32))])
            bytes.insert(contentsOf: span, at: random(bytes.count))
        case 4: replaceNumber(&bytes, near: at)
        case 5: bytes.insert(contentsOf: Array(Self.extremeNumbers[random(Self.extremeNumbers.count)].utf8), at: at)
        default: replaceWord(&bytes, at: at)
        }
    }

    /// Swaps the number nearest after `at` (digits, with sign, point and exponent) for an extreme one.
    private mutating func replaceNumber(_ bytes: inout [UInt8], near at: Int) {
        func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
        guard let start = bytes[at...].firstIndex(where: isDigit) ?? bytes[..<at].lastIndex(where: isDigit) else { return }
        var low = start, high = start
        while low > 0, isDigit(bytes[low - 1]) || bytes[low - 1] == UInt8(ascii: "-") || bytes[low - 1] == UInt8(ascii: ".") { low -= 1 }
        while high < bytes.count, isDigit(bytes[high]) || "eE.+-".utf8.contains(bytes[high]) { high += 1 }
        bytes.replaceSubrange(low..<high, with: Array(Self.extremeNumbers[random(Self.extremeNumbers.count)].utf8))
    }

    /// Overwrites 4 bytes at `at` with an extreme 32-bit value (big-endian, as IDX sizes are).
    private mutating func replaceWord(_ bytes: inout [UInt8], at: Int) {
        let words: [UInt32] = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x0001_0000, 0x00FF_FFFF]
        let word = words[random(words.count)]
        for offset in 0..<4 where at + offset < bytes.count { bytes[at + offset] = UInt8(truncatingIfNeeded: word >> (24 - 8 * offset)) }
    }

    private mutating func random(_ bound: Int) -> Int { generator.below(bound) }
}
