import FlockNN
import FlockTensor
import Testing
@testable import FlockTrain

/// The skip-gram example learns token vectors in which tokens that share contexts (the
/// generator's groups of 5 consecutive ids) are each other's nearest neighbours.
@Suite struct SkipGramExampleTests {
    /// The fraction of the 40 tokens whose nearest other token by cosine, over the rows
    /// of `center.0.weight` (40, D), lies in the same group of 5.
    static func neighboursInGroup(_ store: ParameterStore) -> Double {
        let table = store.value(of: store.slots.first { $0.name == "center.0.weight" }!)
        let (tokens, width) = (table.shape[0], table.shape[1])
        func row(_ t: Int) -> [Double] { (0..<width).map { Double(table[t, $0]) } }
        func cosine(_ a: [Double], _ b: [Double]) -> Double {
            zip(a, b).map(*).reduce(0, +) / (zip(a, a).map(*).reduce(0, +) * zip(b, b).map(*).reduce(0, +)).squareRoot()
        }
        let hits = (0..<tokens).filter { t in
            let nearest = (0..<tokens).filter { $0 != t }.max { cosine(row(t), row($0)) < cosine(row(t), row($1)) }!
            return nearest / 5 == t / 5
        }
        return Double(hits.count) / Double(tokens)
    }

    @Test func tokensThatShareContextsBecomeNearestNeighbours() throws {
        let config = try SequenceExamplesTests.example("skipgram-tokens.yaml", ["epochs=6"])
        let trainer = try Trainer(config: config)
        // Chance is 4 of the 39 others; the initial values sit near it.
        let before = Self.neighboursInGroup(trainer.parameters)
        #expect(before < 0.4, "before training \(before)")
        _ = try trainer.fit()
        let after = Self.neighboursInGroup(trainer.parameters)
        #expect(after >= 0.9, "after training \(after)")
    }
}
