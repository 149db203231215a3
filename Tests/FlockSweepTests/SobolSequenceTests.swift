import FlockTensor
import Foundation
import Testing
@testable import FlockSweep

/// The scrambled Sobol sequence of the GP's start-up design.
@Suite struct SobolSequenceTests {
    @Test func directionNumbersGiveSciPysUnscrambledPoints() {
        // scipy.stats.qmc.Sobol(8, scramble=False).random(1024)[k], which enumerates in Gray-code
        // order: its k-th point XORs the directions of the bits of k ^ (k >> 1).
        let reference: [Int: [Double]] = [
            5: [0.875, 0.875, 0.125, 0.375, 0.875, 0.625, 0.875, 0.375],
            37: [0.921875, 0.640625, 0.578125, 0.921875, 0.765625, 0.296875, 0.171875, 0.796875],
            1000: [0.2197265625, 0.0966796875, 0.5185546875, 0.6767578125, 0.2802734375, 0.9072265625,
                   0.0458984375, 0.8994140625],
        ]
        for (k, expected) in reference {
            let gray = k ^ (k >> 1)
            let point = (0..<8).map { d -> Double in
                let directions = SobolSequence.plainDirections(d)
                var bits: UInt32 = 0
                for b in 0..<SobolSequence.bits where (gray >> b) & 1 == 1 { bits ^= directions[b] }
                return Double(bits) / 4_294_967_296
            }
            #expect(point == expected, "point \(k)")
        }
    }

    @Test func scrambledPointsStillStratifyEveryCoordinateAndPair() {
        // The first 2^m points of a (t, s)-sequence in base 2: every coordinate has one point in
        // each interval [i/2^m, (i+1)/2^m); coordinates 0 and 1 form a (0, 2)-net, one point in
        // each 8 × 8 box.
        var generator = RandomGenerator(seed: 3)
        var sequence = SobolSequence(dimension: 6, generator: &generator)
        let points = (0..<64).map { sequence.point($0) }
        for d in 0..<6 {
            #expect(Set(points.map { Int($0[d] * 64) }).count == 64, "coordinate \(d)")
        }
        #expect(Set(points.map { Int($0[0] * 8) * 8 + Int($0[1] * 8) }).count == 64)
        #expect(points.allSatisfy { $0.allSatisfy { $0 > 0 && $0 < 1 } })

        // Another scrambling moves the points but keeps the stratification.
        var other = RandomGenerator(seed: 4)
        var shifted = SobolSequence(dimension: 6, generator: &other)
        let second = (0..<64).map { shifted.point($0) }
        #expect(second != points)
        #expect(Set(second.map { Int($0[2] * 64) }).count == 64)
    }

    @Test func coordinatesPastTheTableAreUniformDraws() {
        var generator = RandomGenerator(seed: 5)
        var sequence = SobolSequence(dimension: 70, generator: &generator)
        let points = (0..<16).map { sequence.point($0) }
        #expect(points.allSatisfy { $0.count == 70 && $0.allSatisfy { $0 >= 0 && $0 < 1 } })
        #expect(Set(points.map { Int($0[63] * 16) }).count == 16)
    }
}
