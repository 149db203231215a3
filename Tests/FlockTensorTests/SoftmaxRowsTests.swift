import Foundation
import Testing
@testable import FlockTensor

/// The attention's row softmax (eight lanes and a tail) against softmax in Float64.
@Suite struct SoftmaxRowsTests {
    /// 19 scores (two groups of eight and a tail of three), two of them hidden (−∞).
    static let scores: [Float] = (0..<19).map { Float(sin(Double($0) * 1.7) * 6) }

    @Test func matchesSoftmaxInFloat64AndHiddenKeysGetExactlyZero() {
        for hidden in [[], [4, 17]] {
            var row = Self.scores
            for j in hidden { row[j] = -.infinity }
            row.withUnsafeMutableBufferPointer { SoftmaxRows.normalize($0.baseAddress!, count: $0.count) }
            let visible = (0..<19).filter { !hidden.contains($0) }
            let largest = visible.map { Double(Self.scores[$0]) }.max()!
            let total = visible.reduce(0.0) { $0 + Foundation.exp(Double(Self.scores[$1]) - largest) }
            for j in 0..<19 {
                if hidden.contains(j) {
                    #expect(row[j] == 0, "hidden key \(j): \(row[j])")
                } else {
                    let expected = Foundation.exp(Double(Self.scores[j]) - largest) / total
                    #expect(abs(Double(row[j]) - expected) <= 1e-6 * expected + 1e-9, "key \(j): \(row[j]) against \(expected)")
                }
            }
        }
    }

    @Test func aRowThatHidesEveryKeyGivesZeros() {
        var row = [Float](repeating: -.infinity, count: 11)
        row.withUnsafeMutableBufferPointer { SoftmaxRows.normalize($0.baseAddress!, count: $0.count) }
        #expect(row == [Float](repeating: 0, count: 11))
    }
}
