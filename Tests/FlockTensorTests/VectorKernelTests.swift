import Testing
@testable import FlockTensor

/// The SIMD kernels against the plain per-element rule, on sizes around the 8-lane width
/// and on the values where a select can go wrong (NaN, ±0, ±∞).
@Suite struct VectorKernelTests {
    static func values(_ count: Int) -> [Float] {
        var generator = RandomGenerator(seed: UInt64(count))
        let special: [Float] = [.nan, 0, -0.0, .infinity, -.infinity, 1e-30, -1e-30]
        return (0..<count).map { $0 % 5 == 3 ? special[$0 % special.count] : generator.nextUniform(-1, 1) }
    }

    @Test(arguments: [0, 1, 7, 8, 9, 16, 17, 100])
    func reluMatchesThePlainRule(count: Int) {
        var x = Self.values(count)
        let expected = x.map { $0 > 0 ? $0 : 0 }
        x.withUnsafeMutableBufferPointer { VectorKernels.relu($0) }
        #expect(x.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    @Test(arguments: [0, 1, 7, 8, 9, 16, 17, 100])
    func maskedGradientMatchesThePlainRule(count: Int) {
        let y = Self.values(count), g = Self.values(count + 1).dropFirst().map { $0 }
        let expected = zip(y, g).map { $0 > 0 ? $1 : 0 }
        var out = [Float](repeating: 42, count: count)
        y.withUnsafeBufferPointer { py in
            g.withUnsafeBufferPointer { pg in
                out.withUnsafeMutableBufferPointer { VectorKernels.maskByPositive(pg, output: py, into: $0) }
            }
        }
        #expect(out.map(\.bitPattern) == expected.map(\.bitPattern))
    }
}
