import FlockTensor
import Testing
@testable import FlockNN

/// The `dot` merge a skip-gram scores pairs with: against Σ a·b computed directly, with
/// finite differences through two embedding tables.
@Suite struct SkipGramPiecesTests {
    static let graph = ModelGraphConfig(
        inputs: [GraphInputConfig(name: "center_id", shape: [1]), GraphInputConfig(name: "context_id", shape: [1])],
        nodes: [GraphNodeConfig(name: "center", inputs: ["center_id"], layers: [.embedding(vocabulary: 5, units: 3), .flatten]),
                GraphNodeConfig(name: "context", inputs: ["context_id"], layers: [.embedding(vocabulary: 5, units: 3), .flatten]),
                GraphNodeConfig(name: "score", inputs: ["center", "context"], op: .dot)],
        outputs: ["score"])

    @Test func theDotMergeIsTheSumOfProductsOfTheTwoEmbeddings() throws {
        let model = try Model(graph: Self.graph, featureShape: [2], generator: RandomGenerator(seed: 4))
        #expect(model.outputShape == [1])
        let pairs: [(Int, Int)] = [(0, 1), (3, 3), (4, 2)]
        let input = Tensor(shape: [3, 2], scalars: pairs.flatMap { [Float($0.0), Float($0.1)] })
        let score = VisionLayerTests.run(model, input)
        let store = model.parameters
        let center = store.value(of: store.slots.first { $0.name == "center.0.weight" }!)
        let context = store.value(of: store.slots.first { $0.name == "context.0.weight" }!)
        for (row, (i, j)) in pairs.enumerated() {
            let expected = (0..<3).reduce(0.0) { $0 + Double(center[i, $1]) * Double(context[j, $1]) }
            #expect(abs(Double(score.scalars[row]) - expected) < 1e-6, "pair \(i), \(j)")
        }
        // The ids are inputs without gradients; the tables' gradients against differences.
        let error = GradientCheck.largestError(model, input: input, step: 1e-3, checksInput: false)
        #expect(error.parameters < 2e-3, "\(error)")
    }
}
