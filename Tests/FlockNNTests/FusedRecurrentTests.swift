import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// The fused recurrent layers (one tape node per sequence, `Tape.recurrent`) against a
/// naive reference written here: the same recurrence unrolled on the tape one op at a
/// time (slices, `linear`, activations, products), whose backward is the tape's own.
/// Outputs and every gradient (the four parameters and the input) must agree.
@Suite struct FusedRecurrentTests {
    static let (batch, steps, features) = (3, 5, 2)

    /// The unrolled reference of a layer built from `slots` (weight_ih, weight_hh, bias_ih,
    /// bias_hh) for `cell`, x (B, T, C) → (B, H) or (B, T, H).
    static func unrolled(_ x: Variable, cell: String, slots: [ParameterSlot], units h: Int,
                         returnSequences: Bool, tape: Tape) -> Variable {
        let (b, t) = (x.shape[0], x.shape[1])
        let projected = tape.linear(x, weight: slots[0], bias: slots[2])
        let gates = slots[0].shape[0]
        func block(_ v: Variable, _ k: Int) -> Variable { tape.slice(v, axis: 1, range: (k * h)..<((k + 1) * h)) }
        var hidden = tape.constant(Tensor(zeros: [b, h])), memory = tape.constant(Tensor(zeros: [b, h]))
        var outputs: [Variable] = []
        for step in 0..<t {
            let fromInput = tape.reshape(tape.slice(projected, axis: 1, range: step..<(step + 1)), to: [b, gates])
            let fromHidden = tape.linear(hidden, weight: slots[1], bias: slots[3])
            switch cell {
            case "lstm":
                let z = tape.add(fromInput, fromHidden)
                let i = tape.activation(block(z, 0), .sigmoid), f = tape.activation(block(z, 1), .sigmoid)
                let g = tape.activation(block(z, 2), .tanh), o = tape.activation(block(z, 3), .sigmoid)
                memory = tape.add(tape.multiply(f, memory), tape.multiply(i, g))
                hidden = tape.multiply(o, tape.activation(memory, .tanh))
            case "gru":
                let r = tape.activation(tape.add(block(fromInput, 0), block(fromHidden, 0)), .sigmoid)
                let z = tape.activation(tape.add(block(fromInput, 1), block(fromHidden, 1)), .sigmoid)
                let n = tape.activation(tape.add(block(fromInput, 2), tape.multiply(r, block(fromHidden, 2))), .tanh)
                hidden = tape.add(n, tape.multiply(z, tape.subtract(hidden, n)))
            default:
                hidden = tape.activation(tape.add(fromInput, fromHidden), .tanh)
            }
            if returnSequences { outputs.append(tape.reshape(hidden, to: [b, 1, h])) }
        }
        return returnSequences ? tape.concatenate(outputs, axis: 1) : hidden
    }

    struct Run {
        var output: Tensor, parameterGradients: [Float], inputGradient: Tensor
    }

    /// One forward and backward, seeded with `seed` (shaped as the output), through the
    /// model's layer or the unrolled reference.
    static func run(_ model: Model, cell: String, units: Int, returnSequences: Bool, input: Tensor, reference: Bool,
                    weightGradients: WeightGradientTiming = .immediate) -> Run {
        let store = model.parameters
        store.zeroGradients()
        let tape = Tape(parameters: store)
        let x = tape.leaf(input)
        let y: Variable
        if reference {
            y = unrolled(x, cell: cell, slots: store.slots, units: units, returnSequences: returnSequences, tape: tape)
        } else {
            var context = ForwardContext(tape: tape, isTraining: true, generator: RandomGenerator(seed: 1))
            y = model.forward(x, context: &context)
        }
        var generator = RandomGenerator(seed: 77)
        tape.backward(from: y, gradient: Tensor.uniform(shape: y.shape, low: -1, high: 1, using: &generator),
                      weightGradients: weightGradients)
        tape.backwardWeights()
        return Run(output: y.value, parameterGradients: store.withGradients { Array($0) }, inputGradient: x.gradient!)
    }

    static func model(cell: String, units: Int, returnSequences: Bool) throws -> Model {
        let config: LayerConfig = cell == "lstm" ? .lstm(units: units, returnSequences: returnSequences)
            : cell == "gru" ? .gru(units: units, returnSequences: returnSequences)
            : .simpleRNN(units: units, returnSequences: returnSequences)
        let model = try Model([config], inputShape: [steps, features], seed: 21)
        // Non-zero biases of both kinds, so every term of every gate is exercised.
        for slot in model.parameters.slots where slot.name.contains("bias") {
            model.parameters.setValue(VisionLayerTests.randomInput(slot.shape, seed: UInt64(slot.index) + 30), of: slot)
        }
        return model
    }

    /// Largest |a − b| / max(1, |b|) over two arrays of the same length.
    static func difference(_ a: [Float], _ b: [Float]) -> Float {
        #expect(a.count == b.count)
        return zip(a, b).map { abs($0 - $1) / max(1, abs($1)) }.max() ?? 0
    }

    static func compare(_ fused: Run, _ reference: Run, tolerance: Float) {
        #expect(fused.output.shape == reference.output.shape)
        let output = difference(fused.output.scalars, reference.output.scalars)
        let parameters = difference(fused.parameterGradients, reference.parameterGradients)
        let input = difference(fused.inputGradient.scalars, reference.inputGradient.scalars)
        #expect(output < tolerance, "outputs differ by \(output)")
        #expect(parameters < tolerance, "parameter gradients differ by \(parameters)")
        #expect(input < tolerance, "input gradients differ by \(input)")
    }

    @Test(arguments: ["lstm", "gru", "simple_rnn"], [false, true])
    func theFusedLayerMatchesTheUnrolledReference(cell: String, returnSequences: Bool) throws {
        let model = try Self.model(cell: cell, units: 4, returnSequences: returnSequences)
        let input = VisionLayerTests.randomInput([Self.batch, Self.steps, Self.features], seed: 22)
        let fused = Self.run(model, cell: cell, units: 4, returnSequences: returnSequences, input: input, reference: false)
        let reference = Self.run(model, cell: cell, units: 4, returnSequences: returnSequences, input: input, reference: true)
        #expect(fused.output.shape == (returnSequences ? [3, 5, 4] : [3, 4]))
        #expect(fused.parameterGradients.contains { $0 != 0 })
        Self.compare(fused, reference, tolerance: 1e-5)
        // A pipeline schedule's deferred weight work gives the same gradients.
        let deferred = Self.run(model, cell: cell, units: 4, returnSequences: returnSequences, input: input,
                                reference: false, weightGradients: .deferred)
        Self.compare(deferred, reference, tolerance: 1e-5)
    }

    /// Inputs wider than `NarrowInputProjection.maximumFeatures` project through gemm.
    @Test func aWideInputMatchesTheUnrolledReference() throws {
        let model = try Model([.lstm(units: 3, returnSequences: true)], inputShape: [Self.steps, 11], seed: 24)
        let input = VisionLayerTests.randomInput([Self.batch, Self.steps, 11], seed: 25)
        let fused = Self.run(model, cell: "lstm", units: 3, returnSequences: true, input: input, reference: false)
        let reference = Self.run(model, cell: "lstm", units: 3, returnSequences: true, input: input, reference: true)
        Self.compare(fused, reference, tolerance: 1e-5)
    }

    /// Under mixed precision both forms multiply through the store's bf16 products (16
    /// units: every product is wide enough for oneDNN), so they agree as closely as
    /// Float32 accumulation orders allow, and differ from the Float32 outputs.
    @Test(arguments: ["lstm", "gru"])
    func bf16ProductsReachTheFusedLayer(cell: String) throws {
        let model = try Self.model(cell: cell, units: 16, returnSequences: true)
        let input = VisionLayerTests.randomInput([Self.batch, Self.steps, Self.features], seed: 23)
        let float32 = Self.run(model, cell: cell, units: 16, returnSequences: true, input: input, reference: false)
        model.parameters.matrixProducts = .bf16(try BF16MatrixProducts(threads: 1))
        let fused = Self.run(model, cell: cell, units: 16, returnSequences: true, input: input, reference: false)
        let reference = Self.run(model, cell: cell, units: 16, returnSequences: true, input: input, reference: true)
        Self.compare(fused, reference, tolerance: 1e-4)
        #expect(Self.difference(fused.output.scalars, float32.output.scalars) > 1e-4)
    }

    /// Stacked layers: the lower one's sequence output takes the upper one's gradient.
    @Test func stackedFusedLayersMatchFiniteDifferences() throws {
        let model = try Model([.gru(units: 3, returnSequences: true), .lstm(units: 2)], inputShape: [4, 2], seed: 5)
        let errors = GradientCheck.largestError(model, input: VisionLayerTests.randomInput([2, 4, 2], seed: 6), step: 1e-2)
        #expect(errors.parameters < 2e-2, "parameters \(errors.parameters)")
        #expect(errors.input < 2e-2, "input \(errors.input)")
    }
}
