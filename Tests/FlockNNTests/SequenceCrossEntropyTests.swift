import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// Sequence cross-entropy against its formula written here, its gradient against finite
/// differences, and two "ranks" (a hand-made gather) against one.
@Suite struct SequenceCrossEntropyTests {
    /// Targets (3, 4), padding id 0 at four places; logits (3, 4, 5).
    static let targets = Tensor(shape: [3, 4], scalars: [1, 4, 2, 0, 3, 3, 0, 0, 2, 1, 4, 4])
    static let logits = VisionLayerTests.randomInput([3, 4, 5], seed: 8)

    /// Mean over the non-padding positions of −log softmax(z)[y], in Double; its sum and count.
    static func naive(_ z: Tensor, _ y: Tensor, padding: Int?) -> (mean: Double, sum: Double, count: Double) {
        var sum = 0.0, count = 0.0
        for position in 0..<y.count where Int(y.scalars[position]) != padding {
            let row = (0..<5).map { Double(z.scalars[position * 5 + $0]) }
            let logTotal = Foundation.log(row.map { Foundation.exp($0) }.reduce(0, +))
            sum += logTotal - row[Int(y.scalars[position])]
            count += 1
        }
        return (sum / count, sum, count)
    }

    @Test(arguments: [0, nil] as [Int?])
    func theValueIsTheMeanOverRealTokens(padding: Int?) {
        let tape = Tape(parameters: ParameterStore())
        let value = SequenceCrossEntropyLoss(paddingID: padding)(tape.constant(Self.logits), target: Self.targets).value.scalar
        let expected = Self.naive(Self.logits, Self.targets, padding: padding).mean
        #expect(abs(Double(value) - expected) < 1e-5, "\(value) against \(expected)")
    }

    @Test func gradientMatchesFiniteDifferences() {
        let loss = SequenceCrossEntropyLoss(paddingID: 0)
        let tape = Tape(parameters: ParameterStore())
        let z = tape.leaf(Self.logits)
        tape.backward(from: loss(z, target: Self.targets))
        let analytic = z.gradient!
        var worst = 0.0
        for i in 0..<Self.logits.count {
            var plus = Self.logits, minus = Self.logits
            plus.scalars[i] += 1e-2
            minus.scalars[i] -= 1e-2
            let numeric = (Self.naive(plus, Self.targets, padding: 0).mean - Self.naive(minus, Self.targets, padding: 0).mean) / 2e-2
            worst = max(worst, abs(numeric - Double(analytic.scalars[i])))
        }
        #expect(worst < 1e-4, "largest difference \(worst)")
        // Positions whose target is padding get no gradient.
        #expect((0..<5).allSatisfy { analytic.scalars[3 * 5 + $0] == 0 })
    }

    /// Rank 0 holds sample 0 (3 real tokens), rank 1 samples 1 and 2 (6): each reports the
    /// global mean, and the sample-weighted average of their gradients (what data
    /// parallelism applies) is one rank's gradient on all three samples.
    @Test func twoRanksGiveTheGradientOfTheGlobalMean() {
        let loss = SequenceCrossEntropyLoss(paddingID: 0)
        let parts = [0..<1, 1..<3]
        let sums = parts.map { Self.naive(Self.logits.rows($0), Self.targets.rows($0), padding: 0) }
        let gathered = zip(sums, parts).flatMap { [Float($0.sum), Float($0.count), Float($1.count)] }
        var average = [Float](), values: [Float] = []
        for (rank, part) in parts.enumerated() {
            let gather = BatchGather { rows, width in
                #expect(width == 3 && rows.count == 3)
                return (gathered, rank)
            }
            let tape = Tape(parameters: ParameterStore())
            let z = tape.leaf(Self.logits.rows(part))
            let value = loss(z, target: Self.targets.rows(part), gather: gather)
            tape.backward(from: value)
            values.append(value.value.scalar)
            average += z.gradient!.scalars.map { $0 * Float(part.count) / 3 }
        }
        let tape = Tape(parameters: ParameterStore())
        let z = tape.leaf(Self.logits)
        let whole = loss(z, target: Self.targets)
        tape.backward(from: whole)
        for value in values { #expect(abs(value - whole.value.scalar) < 1e-5) }
        let worst = zip(average, z.gradient!.scalars).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-6, "largest difference \(worst)")
    }
}
