import FlockTensor
import Foundation

/// A scrambled Sobol sequence in [0, 1)^d (Sobol 1967; direction numbers of Joe & Kuo 2008,
/// `new-joe-kuo-6.21201`, the table SciPy ships), randomized by a linear matrix scramble and
/// a digital shift (Owen 2003; what `scipy.stats.qmc.Sobol(scramble=True)` does): each
/// first 2^m points put exactly 2^(m−t) points in every elementary box, so a few thousand
/// candidates cover the cube evenly where uniform draws leave gaps and clumps. Coordinates
/// past the table's 64 dimensions are uniform draws.
struct SobolSequence {
    static let bits = 32
    /// (the primitive polynomial with its leading and trailing 1, initial direction numbers m₁…m_s)
    /// for dimensions 2…64; dimension 1 is van der Corput's sequence.
    static let table: [(polynomial: Int, initial: [UInt32])] = [
        (3, [1]),
        (7, [1, 3]),
        (11, [1, 3, 1]),
        (13, [1, 1, 1]),
        (19, [1, 1, 3, 3]),
        (25, [1, 3, 5, 13]),
        (37, [1, 1, 5, 5, 17]),
        (41, [1, 1, 5, 5, 5]),
        (47, [1, 1, 7, 11, 19]),
        (55, [1, 1, 5, 1, 1]),
        (59, [1, 1, 1, 3, 11]),
        (61, [1, 3, 5, 5, 31]),
        (67, [1, 3, 3, 9, 7, 49]),
        (91, [1, 1, 1, 15, 21, 21]),
        (97, [1, 3, 1, 13, 27, 49]),
        (103, [1, 1, 1, 15, 7, 5]),
        (109, [1, 3, 1, 15, 13, 25]),
        (115, [1, 1, 5, 5, 19, 61]),
        (131, [1, 3, 7, 11, 23, 15, 103]),
        (137, [1, 3, 7, 13, 13, 15, 69]),
        (143, [1, 1, 3, 13, 7, 35, 63]),
        (145, [1, 3, 5, 9, 1, 25, 53]),
        (157, [1, 3, 1, 13, 9, 35, 107]),
        (167, [1, 3, 1, 5, 27, 61, 31]),
        (171, [1, 1, 5, 11, 19, 41, 61]),
        (185, [1, 3, 5, 3, 3, 13, 69]),
        (191, [1, 1, 7, 13, 1, 19, 1]),
        (193, [1, 3, 7, 5, 13, 19, 59]),
        (203, [1, 1, 3, 9, 25, 29, 41]),
        (211, [1, 3, 5, 13, 23, 1, 55]),
        (213, [1, 3, 7, 3, 13, 59, 17]),
        (229, [1, 3, 1, 3, 5, 53, 69]),
        (239, [1, 1, 5, 5, 23, 33, 13]),
        (241, [1, 1, 7, 7, 1, 61, 123]),
        (247, [1, 1, 7, 9, 13, 61, 49]),
        (253, [1, 3, 3, 5, 3, 55, 33]),
        (285, [1, 3, 1, 15, 31, 13, 49, 245]),
        (299, [1, 3, 5, 15, 31, 59, 63, 97]),
        (301, [1, 3, 1, 11, 11, 11, 77, 249]),
        (333, [1, 3, 1, 11, 27, 43, 71, 9]),
        (351, [1, 1, 7, 15, 21, 11, 81, 45]),
        (355, [1, 3, 7, 3, 25, 31, 65, 79]),
        (357, [1, 3, 1, 1, 19, 11, 3, 205]),
        (361, [1, 1, 5, 9, 19, 21, 29, 157]),
        (369, [1, 3, 7, 11, 1, 33, 89, 185]),
        (391, [1, 3, 3, 3, 15, 9, 79, 71]),
        (397, [1, 3, 7, 11, 15, 39, 119, 27]),
        (425, [1, 1, 3, 1, 11, 31, 97, 225]),
        (451, [1, 1, 1, 3, 23, 43, 57, 177]),
        (463, [1, 3, 7, 7, 17, 17, 37, 71]),
        (487, [1, 3, 1, 5, 27, 63, 123, 213]),
        (501, [1, 1, 3, 5, 11, 43, 53, 133]),
        (529, [1, 3, 5, 5, 29, 17, 47, 173, 479]),
        (539, [1, 3, 3, 11, 3, 1, 109, 9, 69]),
        (545, [1, 1, 1, 5, 17, 39, 23, 5, 343]),
        (557, [1, 3, 1, 5, 25, 15, 31, 103, 499]),
        (563, [1, 1, 1, 11, 11, 17, 63, 105, 183]),
        (601, [1, 1, 5, 11, 9, 29, 97, 231, 363]),
        (607, [1, 1, 5, 15, 19, 45, 41, 7, 383]),
        (617, [1, 3, 7, 7, 31, 19, 83, 137, 221]),
        (623, [1, 1, 1, 3, 23, 15, 111, 223, 83]),
        (631, [1, 1, 5, 13, 31, 15, 55, 25, 161]),
        (637, [1, 1, 3, 13, 25, 47, 39, 87, 257]),
    ]

    let dimension: Int
    /// Scrambled direction numbers, (min(d, 64), 32): bit b of the index toggles directions[dim][b].
    private let directions: [[UInt32]]
    private let shifts: [UInt32]
    private var generator: RandomGenerator

    init(dimension: Int, generator: inout RandomGenerator) {
        self.dimension = dimension
        let tabled = min(dimension, Self.table.count + 1)
        var directions: [[UInt32]] = [], shifts: [UInt32] = []
        for d in 0..<tabled {
            let plain = Self.plainDirections(d)
            // Lower-triangular scramble with a unit diagonal: output bit r (from the top) is bit r
            // of the input XOR a random combination of the input's higher bits.
            let matrix = (0..<Self.bits).map { row -> UInt32 in
                let random = UInt32(truncatingIfNeeded: generator.next())
                let above: UInt32 = row == 0 ? 0 : ~UInt32(0) << UInt32(Self.bits - row)
                return (random & above) | (UInt32(1) << UInt32(Self.bits - 1 - row))
            }
            directions.append(plain.map { v in
                var scrambled: UInt32 = 0
                for row in 0..<Self.bits where (matrix[row] & v).nonzeroBitCount % 2 == 1 {
                    scrambled |= UInt32(1) << UInt32(Self.bits - 1 - row)
                }
                return scrambled
            })
            shifts.append(UInt32(truncatingIfNeeded: generator.next()))
        }
        self.directions = directions
        self.shifts = shifts
        self.generator = RandomGenerator(seed: generator.next())
    }

    /// The unscrambled direction numbers v_b = m_b / 2^b of dimension `d` (0-based), as 32-bit fractions.
    static func plainDirections(_ d: Int) -> [UInt32] {
        var m: [UInt32] = []
        if d == 0 {
            m = Array(repeating: 1, count: bits)
        } else {
            let (polynomial, initial) = table[d - 1]
            let degree = initial.count
            m = initial
            for b in degree..<bits {
                // m_b = 2^s m_{b−s} XOR m_{b−s} XOR Σ_k a_k 2^k m_{b−k} (Bratley & Fox 1988).
                var value = m[b - degree] ^ (m[b - degree] << UInt32(degree))
                for k in 1..<degree where (polynomial >> (degree - k)) & 1 == 1 {
                    value ^= m[b - k] << UInt32(k)
                }
                m.append(value)
            }
        }
        return (0..<bits).map { b in m[b] << UInt32(bits - 1 - b) }
    }

    /// The point of index `index` (0-based).
    mutating func point(_ index: Int) -> [Double] {
        var x = [Double](repeating: 0, count: dimension)
        for d in 0..<dimension {
            guard d < directions.count else { x[d] = generator.nextUnit(); continue }
            var bits = shifts[d], rest = UInt32(truncatingIfNeeded: index), b = 0
            while rest != 0 {
                if rest & 1 == 1 { bits ^= directions[d][b] }
                rest >>= 1
                b += 1
            }
            // 32 bits and a random half-step below them, so no coordinate is exactly 0.
            x[d] = (Double(bits) + 0.5) / 4_294_967_296
        }
        return x
    }
}
