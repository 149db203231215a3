import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// The Siamese pieces against formulas and naive references, with finite differences:
/// pair distances, the contrastive loss and the triplet loss with its two minings.
@Suite struct MetricLearningTests {
    static func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        return Tensor.uniform(shape: shape, low: -1, high: 1, using: &generator)
    }

    /// The largest gap between `f`'s gradient at `x` (from the tape) and central differences.
    static func finiteDifferenceGap(_ x: Tensor, step: Float = 1e-3, _ f: (Tape, Variable) -> Variable) -> Float {
        let tape = Tape(parameters: ParameterStore())
        let leaf = tape.leaf(x)
        tape.backward(from: f(tape, leaf))
        let analytic = leaf.gradient!.scalars
        func value(_ probe: Tensor) -> Float {
            let tape = Tape(parameters: ParameterStore())
            return f(tape, tape.constant(probe)).value.scalar
        }
        var worst: Float = 0, probe = x
        for i in 0..<x.count {
            let original = probe.scalars[i]
            probe.scalars[i] = original + step; let plus = value(probe)
            probe.scalars[i] = original - step; let minus = value(probe)
            probe.scalars[i] = original
            worst = max(worst, abs((plus - minus) / (2 * step) - analytic[i]))
        }
        return worst
    }

    @Test(arguments: [PairDistanceMetric.euclidean, .cosine])
    func pairDistancesMatchTheFormulaAndFiniteDifferences(metric: PairDistanceMetric) throws {
        let both = Self.random([3, 8], seed: 4)   // (3, [a | b]) with a, b of 4
        let weights = Self.random([3, 1], seed: 5)
        func f(_ tape: Tape, _ x: Variable) -> Variable {
            let a = tape.slice(x, axis: 1, range: 0..<4), b = tape.slice(x, axis: 1, range: 4..<8)
            return tape.sum(tape.multiply(tape.pairDistance(a, b, metric: metric), tape.constant(weights)))
        }
        let tape = Tape(parameters: ParameterStore())
        let x = tape.constant(both)
        let d = tape.pairDistance(tape.slice(x, axis: 1, range: 0..<4), tape.slice(x, axis: 1, range: 4..<8), metric: metric).value
        for row in 0..<3 {
            var squared = 0.0, dot = 0.0, normA = 0.0, normB = 0.0
            for j in 0..<4 {
                let a = Double(both.scalars[row * 8 + j]), b = Double(both.scalars[row * 8 + 4 + j])
                squared += (a - b) * (a - b)
                dot += a * b
                normA += a * a
                normB += b * b
            }
            let expected = metric == .euclidean ? squared.squareRoot() : 1 - dot / (normA.squareRoot() * normB.squareRoot())
            #expect(abs(Double(d.scalars[row]) - expected) < 1e-5, "row \(row): \(d.scalars[row]) vs \(expected)")
        }
        #expect(Self.finiteDifferenceGap(both, f) < 2e-3)
    }

    @Test func aGraphNodeMergesTwoEmbeddingsIntoTheirDistance() throws {
        let config = ModelGraphConfig(
            inputs: [GraphInputConfig(name: "left", shape: [3]), GraphInputConfig(name: "right", shape: [3])],
            nodes: [GraphNodeConfig(name: "enc", inputs: ["left"], layers: [.dense(units: 2, activation: .tanh)]),
                    GraphNodeConfig(name: "enc_r", inputs: ["right"], shares: "enc"),
                    GraphNodeConfig(name: "distance", inputs: ["enc", "enc_r"], op: .euclideanDistance)],
            outputs: ["distance"])
        let model = try Model(graph: config, featureShape: [6], generator: RandomGenerator(seed: 2))
        #expect(model.outputShape == [1])
        let error = GradientCheck.largestError(model, input: Self.random([4, 6], seed: 8), step: 1e-3)
        #expect(error.parameters < 3e-3 && error.input < 3e-3, "\(error)")
        var bad = config
        bad.inputs[1] = GraphInputConfig(name: "right", shape: [2])
        bad.nodes[1] = GraphNodeConfig(name: "enc_r", inputs: ["right"], layers: [.dense(units: 3)])
        #expect(throws: ConfigError(path: "model.nodes[2].inputs", "euclidean_distance takes two inputs of one shape [D], got enc: [2], enc_r: [3]")) {
            _ = try Model(graph: bad, featureShape: [5], generator: RandomGenerator(seed: 2))
        }
    }

    @Test func theContrastiveLossIsTheFormulaWithItsGradient() throws {
        let distances = Tensor(shape: [4, 1], scalars: [0.3, 1.4, 0.8, 0.1])
        let same = Tensor(shape: [4], scalars: [1, 0, 0, 1])
        let tape = Tape(parameters: ParameterStore())
        let loss = ContrastiveLoss(margin: 1)(tape.constant(distances), target: same).value.scalar
        // y d² + (1 − y) max(0, 1 − d)², averaged: 0.09, 0, 0.04, 0.01.
        #expect(abs(loss - (0.09 + 0 + 0.04 + 0.01) / 4) < 1e-6)
        #expect(Self.finiteDifferenceGap(distances) { _, d in ContrastiveLoss(margin: 1)(d, target: same) } < 1e-3)
    }

    /// 10 embeddings of 3 classes.
    static let embeddings = random([10, 3], seed: 12)
    static let labels = Tensor(shape: [10], scalars: [0, 1, 2, 0, 1, 2, 0, 1, 0, 2])

    static func distance(_ i: Int, _ j: Int) -> Float {
        (0..<3).map { embeddings.scalars[i * 3 + $0] - embeddings.scalars[j * 3 + $0] }.map { $0 * $0 }.reduce(0, +).squareRoot()
    }

    @Test func hardMiningTakesEachAnchorsWorstTriplet() throws {
        // Naive: for each anchor, the largest hinge over every (positive, negative).
        var total: Float = 0
        for a in 0..<10 {
            var worst: Float = 0
            for p in 0..<10 where p != a && Self.labels.scalars[p] == Self.labels.scalars[a] {
                for n in 0..<10 where Self.labels.scalars[n] != Self.labels.scalars[a] {
                    worst = max(worst, Self.distance(a, p) - Self.distance(a, n) + 0.5)
                }
            }
            total += worst
        }
        let loss = TripletLoss(margin: 0.5, mining: .hard)
        let tape = Tape(parameters: ParameterStore())
        #expect(abs(loss(tape.constant(Self.embeddings), target: Self.labels).value.scalar - total / 10) < 1e-5)
        #expect(Self.finiteDifferenceGap(Self.embeddings) { _, e in loss(e, target: Self.labels) } < 2e-3)
    }

    @Test func semiHardMiningTakesTheNearestNegativeBeyondThePositive() throws {
        // Naive: every anchor–positive pair; the negatives sorted by distance; the first
        // beyond the positive, else the farthest.
        var total: Float = 0, pairs = 0
        for a in 0..<10 {
            let negatives = (0..<10).filter { Self.labels.scalars[$0] != Self.labels.scalars[a] }.map { Self.distance(a, $0) }.sorted()
            for p in 0..<10 where p != a && Self.labels.scalars[p] == Self.labels.scalars[a] {
                let positive = Self.distance(a, p)
                let negative = negatives.first { $0 > positive } ?? negatives.last!
                total += max(0, positive - negative + 1)
                pairs += 1
            }
        }
        let loss = TripletLoss(margin: 1, mining: .semiHard)
        let tape = Tape(parameters: ParameterStore())
        #expect(abs(loss(tape.constant(Self.embeddings), target: Self.labels).value.scalar - total / Float(pairs)) < 1e-5)
        // Semi-hard mining jumps where a negative's distance crosses a positive's (here
        // one pair is within 1e-3 of crossing): a step of 1e-4 stays on one side.
        #expect(Self.finiteDifferenceGap(Self.embeddings, step: 1e-4) { _, e in loss(e, target: Self.labels) } < 3e-3)
    }

    /// `mining: none`: each row of 9 is a given triplet of 3-value embeddings; the loss is
    /// the mean hinge over the rows, whatever the labels say.
    @Test func givenTripletsAreEachRowsAnchorPositiveAndNegative() throws {
        // Rows 0 and 1 random; row 2 far inside the hinge, row 3 beyond it (no loss).
        let rows = Tensor(shape: [4, 9], scalars: Array(Self.random([6, 3], seed: 30).scalars)
                          + [0.1, 0, 0, 1, 1, 1, 0.2, 0, 0.1] + [0, 0.1, 0, 0, 0.1, 0.1, 3, 0, 0])
        func distance(_ row: Int, _ first: Int, _ second: Int) -> Float {
            (0..<3).map { rows.scalars[row * 9 + first * 3 + $0] - rows.scalars[row * 9 + second * 3 + $0] }.map { $0 * $0 }.reduce(0, +).squareRoot()
        }
        let expected = (0..<4).map { max(0, distance($0, 0, 1) - distance($0, 0, 2) + 0.5) }.reduce(0, +) / 4
        let loss = TripletLoss(margin: 0.5, mining: .given), labels = Tensor(shape: [4], scalars: [0, 0, 0, 0])
        let tape = Tape(parameters: ParameterStore())
        #expect(abs(loss(tape.constant(rows), target: labels).value.scalar - expected) < 1e-6)
        #expect((0..<4).contains { distance($0, 0, 1) - distance($0, 0, 2) + 0.5 < 0 } && expected > 0, "both sides of the hinge are tried")
        #expect(Self.finiteDifferenceGap(rows) { _, e in loss(e, target: labels) } < 2e-3)
        #expect(throws: ConfigError.self) { try loss.checkOutput(width: 8, path: "loss") }
        try loss.checkOutput(width: 9, path: "loss")
    }

    /// Two "ranks" in one process: each passes its half through a gather that returns
    /// both halves; each's loss is the whole batch's, and its gradient is its rows' of the
    /// whole batch's, scaled by 10 / its 5 rows.
    @Test func overAGatheredBatchEachRankGetsTheGlobalLossAndItsRowsGradient() throws {
        let loss = TripletLoss(margin: 1, mining: .semiHard)
        let tape = Tape(parameters: ParameterStore())
        let whole = tape.leaf(Self.embeddings)
        let global = loss(whole, target: Self.labels)
        tape.backward(from: global)
        let wholeGradient = whole.gradient!.scalars
        for (rank, rows) in [0..<5, 5..<10].enumerated() {
            let half = Tensor(shape: [5, 3], scalars: Array(Self.embeddings.scalars[(rows.lowerBound * 3)..<(rows.upperBound * 3)]))
            let labels = Tensor(shape: [5], scalars: Array(Self.labels.scalars[rows]))
            let gather = BatchGather { mine, width in
                var all: [Float] = []
                for row in 0..<10 { all += Self.embeddings.scalars[(row * 3)..<(row * 3 + 3)] + [Self.labels.scalars[row]] }
                #expect(mine == Array(all[(rows.lowerBound * width)..<(rows.upperBound * width)]))
                return (all, rows.lowerBound)
            }
            let tape = Tape(parameters: ParameterStore())
            let x = tape.leaf(half)
            let value = loss(x, target: labels, gather: gather)
            #expect(value.value.scalar == global.value.scalar, "rank \(rank)")
            tape.backward(from: value)
            let expected = wholeGradient[(rows.lowerBound * 3)..<(rows.upperBound * 3)].map { $0 * 2 }
            #expect(zip(x.gradient!.scalars, expected).allSatisfy { abs($0 - $1) < 1e-6 }, "rank \(rank)")
        }
    }
}
