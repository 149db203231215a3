import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// The `transformer_decoder` in a graph node with a second input: gradients against finite
/// differences (parameters, its own input and the memory), causality, the memory's padding,
/// incremental decoding against the full forward, and the config errors.
@Suite struct TransformerDecoderTests {
    /// x (4 steps × 6) attends to m (3 steps × 5): feature rows of 24 + 15 columns.
    static let continuous = ModelGraphConfig(
        inputs: [GraphInputConfig(name: "x", shape: [4, 6]), GraphInputConfig(name: "m", shape: [3, 5])],
        nodes: [GraphNodeConfig(name: "dec", inputs: ["x", "m"],
                                layers: [.transformerDecoder(heads: 2, mlpUnits: 8), .transformerDecoder(heads: 3, mlpUnits: 5, activation: .tanh)])],
        outputs: ["dec"])

    /// Source tokens (5, padding id 0) encoded; target tokens (4) decoded to logits over 6.
    static func translator(vocabulary: Int = 6, sourceSteps: Int = 5, targetSteps: Int = 4) -> ModelGraphConfig {
        ModelGraphConfig(
            inputs: [GraphInputConfig(name: "source", shape: [sourceSteps]), GraphInputConfig(name: "target_in", shape: [targetSteps])],
            nodes: [GraphNodeConfig(name: "encoder", inputs: ["source"],
                                    layers: [.embedding(vocabulary: vocabulary, units: 8, paddingID: 0), .positionalEncoding(),
                                             .transformerEncoder(heads: 2, mlpUnits: 16)]),
                    GraphNodeConfig(name: "decoder", inputs: ["target_in", "encoder"],
                                    layers: [.embedding(vocabulary: vocabulary, units: 8), .positionalEncoding(.learned),
                                             .transformerDecoder(heads: 2, mlpUnits: 16), .transformerDecoder(heads: 4, mlpUnits: 8),
                                             .layerNorm(), .dense(units: vocabulary)])],
            outputs: ["decoder"])
    }

    static func run(_ model: Model, _ features: Tensor) -> Tensor {
        let tape = Tape(parameters: model.parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 1))
        return model.forward(tape.constant(features), context: &context).value
    }

    @Test func gradientsMatchFiniteDifferences() throws {
        let model = try Model(graph: Self.continuous, featureShape: [39], generator: RandomGenerator(seed: 3))
        for slot in model.parameters.slots where slot.name.contains("bias") {
            model.parameters.setValue(VisionLayerTests.randomInput(slot.shape, seed: UInt64(slot.index) + 50), of: slot)
        }
        #expect(model.parameters.slot(named: "dec.0.cross_attention.key.weight")?.shape == [6, 5])
        let errors = GradientCheck.largestError(model, input: VisionLayerTests.randomInput([2, 39], seed: 4), step: 1e-2)
        #expect(errors.parameters < 2e-2, "parameters \(errors.parameters)")
        #expect(errors.input < 2e-2, "input (x and memory) \(errors.input)")
    }

    /// Changing x at step 2 leaves steps 0 and 1 bitwise unchanged; changing the memory
    /// anywhere moves every step.
    @Test func selfAttentionIsCausalAndEveryStepReadsTheMemory() throws {
        let model = try Model(graph: Self.continuous, featureShape: [39], generator: RandomGenerator(seed: 3))
        let features = VisionLayerTests.randomInput([1, 39], seed: 5)
        let before = Self.run(model, features)
        var later = features
        for c in 0..<6 { later.scalars[2 * 6 + c] += 1 }
        let changed = Self.run(model, later)
        #expect(Array(changed.scalars[0..<12]) == Array(before.scalars[0..<12]))
        #expect(Array(changed.scalars[12..<18]) != Array(before.scalars[12..<18]))
        var memory = features
        memory.scalars[24 + 14] += 1      // memory step 2
        let moved = Self.run(model, memory)
        for step in 0..<4 { #expect(Array(moved.scalars[(step * 6)..<(step * 6 + 6)]) != Array(before.scalars[(step * 6)..<(step * 6 + 6)])) }
    }

    /// The source's padding (id 0, marked by the encoder's embedding) is hidden from the
    /// cross-attention: the padding row of the source table changes nothing.
    @Test func theMemorysPaddingIsHidden() throws {
        let model = try Model(graph: Self.translator(), featureShape: [9], generator: RandomGenerator(seed: 4))
        let features = Tensor(shape: [2, 9], scalars: [3, 4, 5, 0, 0, 1, 2, 3, 4, 5, 5, 1, 0, 0, 1, 3, 3, 2])
        let before = Self.run(model, features)
        let table = model.parameters.slot(named: "encoder.0.weight")!
        var values = model.parameters.value(of: table)
        for j in 0..<8 { values.scalars[j] += 3 }
        model.parameters.setValue(values, of: table)
        #expect(Self.run(model, features) == before)
        // A real source token's row does move the output.
        for j in 8..<16 { values.scalars[j] += 3 }
        model.parameters.setValue(values, of: table)
        #expect(Self.run(model, features) != before)
    }

    /// Step by step with cached keys and values gives, position by position, the logits of
    /// the full forward on the whole target sequence.
    @Test func cachedDecodingMatchesTheFullForward() throws {
        let model = try Model(graph: Self.translator(), featureShape: [9], generator: RandomGenerator(seed: 4))
        let features = Tensor(shape: [3, 9], scalars: [3, 4, 5, 0, 0, 1, 2, 3, 4,
                                                       5, 5, 1, 0, 0, 1, 3, 3, 2,
                                                       2, 3, 4, 5, 1, 1, 5, 0, 2])
        let full = Self.run(model, features)   // (3, 4, 6)
        let decoder = try SequenceDecoder(graph: model.graph!, output: "decoder")
        let tape = Tape(parameters: model.parameters)
        tape.recordsBackward = false
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        var states = decoder.begin(features: features, context: &context)
        var worst: Float = 0
        for position in 0..<4 {
            let tokens = (0..<3).map { Int(features[$0, 5 + position]) }
            let logits = decoder.step(tokens: tokens, position: position, states: &states, context: &context)
            #expect(logits.shape == [3, 6])
            for row in 0..<3 {
                for v in 0..<6 { worst = max(worst, abs(logits[row, v] - full[row, position, v])) }
            }
        }
        #expect(worst < 1e-5, "largest difference \(worst)")
    }

    /// A decoder node with a layer that mixes positions (mean pooling) cannot decode step
    /// by step, nor can a node that attends to nothing; the errors say which.
    @Test func decodingRefusesWhatCannotRunStepByStep() throws {
        var pooled = Self.translator()
        pooled.nodes[1].layers!.insert(.sequencePool(.mean), at: 5)
        let model = try Model(graph: pooled, featureShape: [9], generator: RandomGenerator(seed: 4))
        #expect {
            _ = try SequenceDecoder(graph: model.graph!, output: "decoder")
        } throws: { "\($0)".contains("node 'decoder' cannot decode step by step: its layer 5 (SequencePool)") }
        let translator = try Model(graph: Self.translator(), featureShape: [9], generator: RandomGenerator(seed: 4))
        #expect {
            _ = try SequenceDecoder(graph: translator.graph!, output: "encoder")
        } throws: { "\($0)".contains("output 'encoder' does not") }
    }

    @Test func configsNameWhatIsWrong() throws {
        func error(_ config: ModelGraphConfig, features: Int) -> String {
            do { _ = try Model(graph: config, featureShape: [features], generator: RandomGenerator(seed: 1)) } catch { return "\(error)" }
            return "no error"
        }
        // Outside a node with a second input.
        let alone = ModelGraphConfig(inputs: [GraphInputConfig(name: "x", shape: [4, 6])],
                                     nodes: [GraphNodeConfig(name: "dec", inputs: ["x"], layers: [.transformerDecoder(heads: 2)])],
                                     outputs: ["dec"])
        #expect(error(alone, features: 24).contains("model.nodes[0].layers[0]: a transformer_decoder layer attends to a second sequence"))
        // Two inputs, no op and nothing that attends to the second.
        var ignored = Self.continuous
        ignored.nodes[0].layers = [.dense(units: 3)]
        #expect(error(ignored, features: 39).contains("model.nodes[0].op: a node with several inputs merges them"))
        // Recomputation would replay without the memory.
        var recomputed = Self.continuous
        recomputed.nodes[0].layers![1].recompute = true
        #expect(error(recomputed, features: 39).contains("model.nodes[0].layers[1]: recompute: a transformer_decoder"))
        // Three inputs still need an op.
        var three = Self.continuous
        three.nodes[0].inputs = ["x", "m", "x"]
        #expect(error(three, features: 39).contains("model.nodes[0].op"))
        // The decoder is always causal: no such key; the options round-trip.
        #expect(ModuleTests.message(#"[{"type": "transformer_decoder", "heads": 2, "causal": true}]"#)?.contains("causal") == true)
        #expect(ModuleTests.message(#"[{"type": "transformer_decoder"}]"#) == "[0].heads: a transformer_decoder layer needs heads")
        let layers = try ModuleTests.decode(#"[{"type": "transformer_decoder", "heads": 2, "mlp_units": 16, "dropout": 0.1, "activation": "relu"}]"#)
        #expect(layers == [.transformerDecoder(heads: 2, mlpUnits: 16, dropout: 0.1, activation: .relu)])
        #expect(try ModuleTests.decode(String(decoding: try JSONEncoder().encode(layers), as: UTF8.self)) == layers)
    }
}
