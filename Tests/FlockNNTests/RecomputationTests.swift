import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// A block trained with `recompute: true` gives the gradients of the block trained as it
/// is (bit for bit: the same ops in the same order, dropout drawing the same masks), its
/// running statistics move once per step, its gradient-ready events all fire, and its
/// forward keeps only its output.
@Suite struct RecomputationTests {
    struct Case: Sendable, CustomStringConvertible {
        let description: String
        let layers: [LayerConfig]
        let inputShape: [Int]
    }

    static let cases: [Case] = [
        Case(description: "residual MLP with dropout", layers: [
            .dense(units: 32, activation: .relu),
            .residual([.dense(units: 32, activation: .relu), .dropout(rate: 0.3), .dense(units: 32)]),
            .dense(units: 5),
        ], inputShape: [12]),
        Case(description: "Transformer block with dropout", layers: [
            .transformerEncoder(heads: 2, mlpUnits: 16, dropout: 0.2), .sequencePool(), .dense(units: 3),
        ], inputShape: [5, 8]),
        Case(description: "conv block with batch norm", layers: [
            .conv2D(filters: 4, kernel: 3, activation: .relu),
            .residual([.conv2D(filters: 4, kernel: 3), .batchNorm(), .activation(.relu)]),
            .globalAveragePool, .dense(units: 3),
        ], inputShape: [1, 6, 6]),
    ]

    struct Step {
        let gradients: [Float]
        let buffers: [Float]
        let held: Int
        let ready: [String]
    }

    /// One training forward and backward of a sum-of-squares loss; the block (layer 1 or 0)
    /// recomputed or not.
    func step(_ example: Case, recompute: Bool) throws -> Step {
        var layers = example.layers
        layers[layers.firstIndex { $0.type == "residual" || $0.type == "transformer_encoder" }!].recompute = recompute
        let model = try Model(layers, inputShape: example.inputShape, seed: 3)
        let tape = Tape(parameters: model.parameters)
        var ready: [String] = []
        tape.addGradientReadyObserver { ready.append($0.name) }
        var generator = RandomGenerator(seed: 9)
        let rows = 6, width = example.inputShape.reduce(1, *)
        let input = Tensor(shape: [rows] + example.inputShape, scalars: (0..<(rows * width)).map { _ in generator.nextUniform(-1, 1) })
        var context = ForwardContext(tape: tape, isTraining: true, generator: RandomGenerator(seed: 21))
        let output = model.forward(tape.constant(input), context: &context)
        let held = tape.heldValueElements
        tape.backward(from: tape.sum(tape.multiply(output, output)))
        var buffers: [Float] = []
        model.parameters.withBuffers { buffers = Array($0) }
        var gradients: [Float] = []
        model.parameters.withGradients { gradients = Array($0) }
        return Step(gradients: gradients, buffers: buffers, held: held, ready: ready)
    }

    @Test(arguments: cases)
    func aRecomputedBlockGivesTheSameGradients(example: Case) throws {
        let plain = try step(example, recompute: false), recomputed = try step(example, recompute: true)
        #expect(recomputed.gradients == plain.gradients)
        #expect(plain.gradients.contains { $0 != 0 })
        #expect(recomputed.buffers == plain.buffers, "running statistics moved once, as without recomputation")
        #expect(Set(recomputed.ready) == Set(plain.ready) && recomputed.ready.count == plain.ready.count)
        #expect(recomputed.held < plain.held, "held \(recomputed.held) elements recomputed, \(plain.held) not")
    }

    @Test func recomputeIsReadAndWrittenInConfigs() throws {
        let layer = try JSONDecoder().decode(LayerConfig.self, from: Data(#"{"type": "dense", "units": 4, "recompute": true}"#.utf8))
        #expect(layer.recompute)
        #expect(String(decoding: try JSONEncoder().encode(layer), as: UTF8.self).contains(#""recompute":true"#))
        let model = try Model([layer], inputShape: [3], seed: 1)
        #expect(model.root.layers[0] is RecomputedLayer)
    }

    @Test func aLayerThatMarksPaddingIsNotRecomputed() {
        var embedding = LayerConfig.embedding(vocabulary: 5, units: 4, paddingID: 0)
        embedding.recompute = true
        #expect(throws: ConfigError.self) { try Model([embedding], inputShape: [3], seed: 1) }
    }
}
