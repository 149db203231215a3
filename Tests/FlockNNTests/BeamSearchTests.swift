import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// Beam search on a tiny translator with fixed (seeded) weights: against every sequence
/// enumerated and scored by the full forward, and width 1 against a greedy loop written
/// here on the full forward.
@Suite struct BeamSearchTests {
    /// Tokens 0..<5, the end token 2, start token 1, at most 3 steps.
    static let (vocabulary, end, start, steps) = (5, 2, 1, 3)
    static let source: [Float] = [3, 4, 1, 0, 0]

    static func model() throws -> Model {
        let config = TransformerDecoderTests.translator(vocabulary: vocabulary, sourceSteps: 5, targetSteps: steps)
        let model = try Model(graph: config, featureShape: [5 + steps], generator: RandomGenerator(seed: 9))
        // Larger output weights: peaked distributions, so the search has something to find.
        let head = model.parameters.slot(named: "decoder.5.weight")!
        model.parameters.setValue(model.parameters.value(of: head).map { $0 * 6 }, of: head)
        return model
    }

    /// log P of each next token after `prefix`, by the full forward on [start] + prefix.
    static func fullLogProbabilities(_ model: Model, prefix: [Int]) -> [Double] {
        let decoderInput = ([start] + prefix).map(Float.init) + [Float](repeating: 0, count: steps - prefix.count - 1)
        let logits = TransformerDecoderTests.run(model, Tensor(shape: [1, 5 + steps], scalars: source + decoderInput))
        let row = (0..<vocabulary).map { Double(logits[0, prefix.count, $0]) }
        let shift = row.max()! + Foundation.log(row.map { Foundation.exp($0 - row.max()!) }.reduce(0, +))
        return row.map { $0 - shift }
    }

    /// Every sequence: ending in the end token within `steps`, or cut at `steps`; scored.
    static func enumerated(_ model: Model, lengthPenalty: Double) -> [BeamSearch.Hypothesis] {
        let search = BeamSearch(width: 1, maxSteps: steps, endToken: end, lengthPenalty: lengthPenalty)
        var all: [BeamSearch.Hypothesis] = []
        func extend(_ prefix: [Int], _ logP: Double) {
            let next = fullLogProbabilities(model, prefix: prefix)
            for token in 0..<vocabulary {
                let tokens = prefix + [token], value = logP + next[token]
                if token == end || tokens.count == steps {
                    all.append(.init(tokens: tokens, logProbability: value, score: search.score(logProbability: value, length: tokens.count)))
                } else {
                    extend(tokens, value)
                }
            }
        }
        extend([], 0)
        return all.sorted { $0.score > $1.score }
    }

    static func beam(_ model: Model, width: Int, lengthPenalty: Double) throws -> [BeamSearch.Hypothesis] {
        let decoder = try SequenceDecoder(graph: model.graph!, output: "decoder")
        let tape = Tape(parameters: model.parameters)
        tape.recordsBackward = false
        let search = BeamSearch(width: width, maxSteps: steps, endToken: end, lengthPenalty: lengthPenalty)
        let features = Tensor(shape: [1, 5 + steps], scalars: source + [Float](repeating: 0, count: steps))
        return decoder.search(search, features: features, start: start, tape: tape)
    }

    @Test(arguments: [0.0, 0.6, 2.0])
    func aWideBeamFindsWhatEnumerationFinds(lengthPenalty: Double) throws {
        let model = try Self.model()
        let expected = Self.enumerated(model, lengthPenalty: lengthPenalty)
        // [end]; 4 tokens then end; 4·4 then end; 4·4·4 cut at 3 steps.
        #expect(expected.count == 1 + 4 + 16 + 64)
        let found = try Self.beam(model, width: 200, lengthPenalty: lengthPenalty)
        #expect(found.count == expected.count)
        for (a, b) in zip(found, expected).prefix(10) {
            #expect(a.tokens == b.tokens)
            #expect(abs(a.score - b.score) < 1e-5, "\(a.score) against \(b.score)")
        }
    }

    @Test func widthOneIsGreedy() throws {
        let model = try Self.model()
        var tokens: [Int] = [], logP = 0.0
        while tokens.count < Self.steps {
            let next = Self.fullLogProbabilities(model, prefix: tokens)
            let best = next.indices.max { next[$0] < next[$1] }!
            tokens.append(best)
            logP += next[best]
            if best == Self.end { break }
        }
        let found = try Self.beam(model, width: 1, lengthPenalty: 0.6)
        #expect(found.first?.tokens == tokens)
        #expect(abs((found.first?.logProbability ?? 0) - logP) < 1e-5)
    }

    /// A narrower beam never scores above the exhaustive best, and the wide beam's best is
    /// at least as good as greedy's (what issue 29 asks of beam against greedy).
    @Test func beamsAreBoundedByTheBest() throws {
        let model = try Self.model()
        let best = Self.enumerated(model, lengthPenalty: 0.6)[0].score
        let greedy = try Self.beam(model, width: 1, lengthPenalty: 0.6)[0].score
        for width in [2, 3, 5] {
            let found = try Self.beam(model, width: width, lengthPenalty: 0.6)[0].score
            #expect(found <= best + 1e-9)
        }
        #expect(greedy <= best + 1e-9)
    }
}
