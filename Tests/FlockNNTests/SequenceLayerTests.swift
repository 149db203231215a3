import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// Embeddings, positional encodings, attention, the Transformer block and recurrent
/// layers: gradients against finite differences, LSTM and GRU against step-by-step
/// references written here, the causal mask, configs.
@Suite struct SequenceLayerTests {
    static func run(_ model: Model, _ input: Tensor) -> Tensor {
        VisionLayerTests.run(model, input)
    }

    @Test(arguments: [
        [LayerConfig.multiHeadAttention(heads: 2)],
        [.multiHeadAttention(heads: 3, causal: true)],
        [.transformerEncoder(heads: 2, mlpUnits: 8)],
        [.transformerEncoder(heads: 3, mlpUnits: 5, causal: true, activation: .relu), .sequencePool(.mean)],
        [.positionalEncoding(.learned), .sequencePool(.last)],
        [.positionalEncoding(.sinusoidal), .sequencePool(.first)],
        [.simpleRNN(units: 3, returnSequences: true)],
        [.lstm(units: 3)],
        [.lstm(units: 3, returnSequences: true), .lstm(units: 2)],
        [.gru(units: 3, returnSequences: true)],
        [.gru(units: 2, returnSequences: true), .gru(units: 3)],
    ])
    func gradientsMatchFiniteDifferences(layers: [LayerConfig]) throws {
        let model = try Model(layers, inputShape: [4, 6], seed: 3)
        // Non-zero biases, so their part of every gate is exercised.
        for slot in model.parameters.slots where slot.name.contains("bias") {
            model.parameters.setValue(VisionLayerTests.randomInput(slot.shape, seed: UInt64(slot.index) + 50), of: slot)
        }
        let errors = GradientCheck.largestError(model, input: VisionLayerTests.randomInput([2, 4, 6], seed: 4), step: 1e-2)
        #expect(errors.parameters < 2e-2, "parameters \(errors.parameters)")
        #expect(errors.input < 2e-2, "input \(errors.input)")
    }

    /// Token ids sit at k + 0.5: finite differences of 0.01 never move them to another id.
    @Test func anEmbeddingWithPaddingFeedsMaskedAttentionGradientsMatch() throws {
        let model = try Model([.embedding(vocabulary: 5, units: 6, paddingID: 0), .positionalEncoding(.learned),
                               .transformerEncoder(heads: 2, mlpUnits: 4), .sequencePool(.mean)],
                              inputShape: [5], seed: 2)
        let ids = Tensor(shape: [2, 5], scalars: [1, 4, 2, 0, 0, 3, 3, 1, 2, 0].map { $0 + 0.5 })
        let errors = GradientCheck.largestError(model, input: ids)
        #expect(errors.parameters < 2e-2, "parameters \(errors.parameters)")
        // The padding row gets no gradient from padded positions only if they are hidden:
        // the output must not depend on the tokens there, so change a padded position's
        // embedding row and nothing moves.
        let before = Self.run(model, ids)
        let table = model.parameters.slots[0]
        var values = model.parameters.value(of: table)
        for j in 0..<6 { values.scalars[j] += 3 }
        model.parameters.setValue(values, of: table)
        #expect(Self.run(model, ids) == before)
    }

    @Test func theCausalMaskLeavesEarlierOutputsBitwiseUnchanged() throws {
        let model = try Model([.embedding(vocabulary: 7, units: 8), .positionalEncoding(),
                               .transformerEncoder(heads: 2, mlpUnits: 16, causal: true),
                               .transformerEncoder(heads: 4, mlpUnits: 16, causal: true)], inputShape: [6], seed: 5)
        let ids = Tensor(shape: [2, 6], scalars: [1, 2, 3, 4, 5, 6, 6, 5, 4, 3, 2, 1])
        var changed = ids
        changed.scalars[4] = 0      // sample 0, position 4
        changed.scalars[11] = 3     // sample 1, position 5
        let (a, b) = (Self.run(model, ids), Self.run(model, changed))
        let row = 8
        for position in 0..<6 {
            let first = (position * row)..<((position + 1) * row), second = ((6 + position) * row)..<((7 + position) * row)
            #expect((a.scalars[first] == b.scalars[first]) == (position < 4), "sample 0 position \(position)")
            #expect((a.scalars[second] == b.scalars[second]) == (position < 5), "sample 1 position \(position)")
        }
        // Without the mask, position 0 sees the change.
        let open = try Model([.embedding(vocabulary: 7, units: 8), .transformerEncoder(heads: 2, mlpUnits: 16)],
                             inputShape: [6], seed: 5)
        #expect(Self.run(open, ids).scalars[0..<row] != Self.run(open, changed).scalars[0..<row])
    }

    // MARK: Recurrent references

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + Foundation.exp(-x)) }

    /// Row r of W (rows × columns) · v plus b[r], in Double.
    static func affine(_ w: Tensor, _ v: [Double], _ b: Tensor, row: Int) -> Double {
        var total = Double(b.scalars[row])
        for c in 0..<v.count { total += Double(w.scalars[row * v.count + c]) * v[c] }
        return total
    }

    /// Every step's hidden state of one sample by the textbook equations.
    static func referenceStates(cell: String, input: [[Double]], parameters p: [Tensor], units h: Int) -> [[Double]] {
        let (wih, whh, bih, bhh) = (p[0], p[1], p[2], p[3])
        var hidden = [Double](repeating: 0, count: h), memory = hidden
        var states: [[Double]] = []
        for x in input {
            func pre(_ gate: Int, _ u: Int) -> (Double, Double) {
                (affine(wih, x, bih, row: gate * h + u), affine(whh, hidden, bhh, row: gate * h + u))
            }
            var next = hidden
            for u in 0..<h {
                switch cell {
                case "lstm":
                    let (i, f, g, o) = (pre(0, u), pre(1, u), pre(2, u), pre(3, u))
                    memory[u] = sigmoid(f.0 + f.1) * memory[u] + sigmoid(i.0 + i.1) * Foundation.tanh(g.0 + g.1)
                    next[u] = sigmoid(o.0 + o.1) * Foundation.tanh(memory[u])
                case "gru":
                    let (r, z, n) = (pre(0, u), pre(1, u), pre(2, u))
                    let reset = sigmoid(r.0 + r.1), update = sigmoid(z.0 + z.1)
                    let candidate = Foundation.tanh(n.0 + reset * n.1)
                    next[u] = (1 - update) * candidate + update * hidden[u]
                default:
                    let a = pre(0, u)
                    next[u] = Foundation.tanh(a.0 + a.1)
                }
            }
            hidden = next
            states.append(hidden)
        }
        return states
    }

    @Test(arguments: ["lstm", "gru", "simple_rnn"])
    func recurrentLayersMatchAStepByStepReference(cell: String) throws {
        let config: LayerConfig = cell == "lstm" ? .lstm(units: 4, returnSequences: true)
            : cell == "gru" ? .gru(units: 4, returnSequences: true) : .simpleRNN(units: 4, returnSequences: true)
        let model = try Model([config], inputShape: [7, 3], seed: 9)
        let input = VisionLayerTests.randomInput([2, 7, 3], seed: 10)
        let output = Self.run(model, input)
        #expect(output.shape == [2, 7, 4])
        let parameters = model.parameters.slots.map { model.parameters.value(of: $0) }
        var worst = 0.0
        for b in 0..<2 {
            let steps = (0..<7).map { t in (0..<3).map { Double(input[b, t, $0]) } }
            let states = Self.referenceStates(cell: cell, input: steps, parameters: parameters, units: 4)
            for t in 0..<7 { for u in 0..<4 { worst = max(worst, abs(states[t][u] - Double(output[b, t, u]))) } }
        }
        #expect(worst < 1e-5, "largest difference \(worst)")
        // The last-state form returns the final step of the sequence form.
        let last = try Model([cell == "lstm" ? .lstm(units: 4) : cell == "gru" ? .gru(units: 4) : .simpleRNN(units: 4)],
                             inputShape: [7, 3], seed: 9)
        let final = Self.run(last, input)
        #expect(final.shape == [2, 4])
        #expect(final[1, 2] == output[1, 6, 2])
    }

    @Test func sequenceLayersDecodeFromConfigsAndNameBadFields() throws {
        let layers = try ModuleTests.decode(#"""
        [{"type": "embedding", "vocabulary": 10, "units": 8, "padding_id": 0},
         {"type": "positional_encoding", "kind": "learned"},
         {"type": "transformer_encoder", "heads": 2, "mlp_units": 16, "dropout": 0.1, "causal": true},
         {"type": "multi_head_attention", "heads": 4},
         {"type": "lstm", "units": 6, "return_sequences": true}, {"type": "gru", "units": 5, "return_sequences": true},
         {"type": "simple_rnn", "units": 4, "return_sequences": true}, {"type": "sequence_pool", "mode": "last"}]
        """#)
        let model = try Model(layers, inputShape: [12], seed: 1)
        #expect(model.outputShape == [4])
        let names = model.parameters.slots.map(\.name)
        #expect(names.contains("layers.2.attention.query.weight") && names.contains("layers.3.output.bias"))
        #expect(names.contains("layers.4.weight_hh") && names.contains("layers.2.mlp_in.weight"))
        let data = try JSONEncoder().encode(layers)
        #expect(try ModuleTests.decode(String(decoding: data, as: UTF8.self)) == layers)
        #expect(ModuleTests.message(#"[{"type": "lstm"}]"#) == "[0].units: a lstm layer needs units")
        #expect(ModuleTests.message(#"[{"type": "embedding", "vocabulary": 4, "units": 2, "padding_id": 4}]"#)
                == "[0].padding_id: expected an integer in 0...3, got 4")
        #expect(ModuleTests.message(#"[{"type": "sequence_pool", "mode": "max"}]"#)
                == "[0].mode: unknown pooling mode 'max' (expected one of: mean, last, first)")
        #expect {
            _ = try Model([.embedding(vocabulary: 4, units: 6), .multiHeadAttention(heads: 4)], inputShape: [3], seed: 1)
        } throws: { error in
            "\(error)" == "model[1]: heads: 4 heads do not divide the 6 features of each position"
        }
        #expect {
            _ = try Model([.lstm(units: 3)], inputShape: [12], seed: 1)
        } throws: { error in
            "\(error)".hasPrefix("model[0]: a lstm layer needs per-sample sequences of shape (steps, features), got [12]")
        }
    }
}
