import Foundation

/// The lower-triangular L with L·Lᵀ = A of a symmetric positive-definite (D, D) matrix,
/// in Double, row-major: what a Gaussian's density and its draws need (whitening
/// L⁻¹(x − μ), log det A = 2 Σ log Lᵢᵢ, and x = μ + L·ε).
struct CholeskyFactor: Sendable, Equatable {
    let dimension: Int
    /// (D, D) row-major, zeros above the diagonal.
    let lower: [Double]

    /// Nil when `matrix` is not positive definite (a pivot ≤ 0 or not finite).
    init?(_ matrix: [Double], dimension: Int) {
        precondition(matrix.count == dimension * dimension, "a (\(dimension), \(dimension)) matrix needs \(dimension * dimension) values, got \(matrix.count)")
        var l = [Double](repeating: 0, count: matrix.count)
        for row in 0..<dimension {
            for column in 0...row {
                var sum = matrix[row * dimension + column]
                for k in 0..<column { sum -= l[row * dimension + k] * l[column * dimension + k] }
                if row == column {
                    guard sum > 0, sum.isFinite else { return nil }
                    l[row * dimension + row] = sum.squareRoot()
                } else {
                    l[row * dimension + column] = sum / l[column * dimension + column]
                }
            }
        }
        self.dimension = dimension
        lower = l
    }

    /// log det A = 2 Σ log Lᵢᵢ.
    var logDeterminant: Double {
        (0..<dimension).reduce(0) { $0 + 2 * Foundation.log(lower[$1 * dimension + $1]) }
    }

    /// ‖L⁻¹ vₙ‖² for each of the N rows vₙ of `rows` (N·D values, row-major): squared
    /// Mahalanobis lengths, by forward substitution.
    func squaredWhitenedLengths(_ rows: [Double]) -> [Double] {
        let d = dimension, count = rows.count / max(d, 1)
        var lengths = [Double](repeating: 0, count: count), solved = [Double](repeating: 0, count: d)
        lower.withUnsafeBufferPointer { l in
            rows.withUnsafeBufferPointer { v in
                solved.withUnsafeMutableBufferPointer { s in
                    for n in 0..<count {
                        var total = 0.0
                        for row in 0..<d {
                            var sum = v[n * d + row]
                            for k in 0..<row { sum -= l[row * d + k] * s[k] }
                            s[row] = sum / l[row * d + row]
                            total += s[row] * s[row]
                        }
                        lengths[n] = total
                    }
                }
            }
        }
        return lengths
    }

    /// L·ε for D values ε.
    func times(_ epsilon: [Double]) -> [Double] {
        (0..<dimension).map { row in (0...row).reduce(0) { $0 + lower[row * dimension + $1] * epsilon[$1] } }
    }
}
