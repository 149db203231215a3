import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// The conv1d layer: values against the definition computed one output at a time,
/// gradients against finite differences, causality checked by perturbing future steps,
/// and its config errors.
@Suite struct Conv1DTests {
    /// y[b, t, f] = bias[f] + Σ_{c,k} W[f, c, k]·x[b, t + k·d − pad, c], by its definition;
    /// `pad` is what each padding puts before the sequence (causal: the whole span − 1).
    static func direct(_ x: Tensor, weight: Tensor, bias: Tensor, dilation: Int,
                       padding: Convolution1DGeometry.Padding) -> Tensor {
        let (batch, steps, channels) = (x.shape[0], x.shape[1], x.shape[2])
        let (filters, kernel) = (weight.shape[0], weight.shape[2])
        let span = (kernel - 1) * dilation
        let pad = padding == .causal ? span : padding == .same ? span / 2 : 0
        let outputSteps = padding == .valid ? steps - span : steps
        var y = Tensor(zeros: [batch, outputSteps, filters])
        for b in 0..<batch {
            for t in 0..<outputSteps {
                for f in 0..<filters {
                    var total = bias[f]
                    for c in 0..<channels {
                        for k in 0..<kernel {
                            let s = t + k * dilation - pad
                            if s >= 0 && s < steps { total += weight[f, c, k] * x[b, s, c] }
                        }
                    }
                    y[b, t, f] = total
                }
            }
        }
        return y
    }

    static func model(kernel: Int, dilation: Int, padding: Convolution1DGeometry.Padding,
                      inputShape: [Int] = [9, 2]) throws -> Model {
        let model = try Model([.conv1D(filters: 3, kernel: kernel, dilation: dilation, padding: padding)],
                              inputShape: inputShape, seed: 5)
        // A non-zero bias, so its broadcast is checked too.
        model.parameters.setValue(Tensor(shape: [3], scalars: [0.5, -1, 2]), of: model.parameters.slots[1])
        return model
    }

    @Test(arguments: [(3, 1, "causal"), (2, 4, "causal"), (3, 2, "same"), (2, 3, "same"), (3, 2, "valid"), (1, 1, "valid")])
    func theConvolutionMatchesItsDefinition(kernel: Int, dilation: Int, padding: String) throws {
        let padding = Convolution1DGeometry.Padding(rawValue: padding)!
        let model = try Self.model(kernel: kernel, dilation: dilation, padding: padding)
        let input = VisionLayerTests.randomInput([2, 9, 2], seed: 6)
        let expected = Self.direct(input, weight: model.parameters.value(of: model.parameters.slots[0]),
                                   bias: model.parameters.value(of: model.parameters.slots[1]),
                                   dilation: dilation, padding: padding)
        let output = VisionLayerTests.run(model, input)
        #expect(output.shape == expected.shape)
        #expect(zip(output.scalars, expected.scalars).allSatisfy { abs($0 - $1) < 1e-5 })
    }

    @Test(arguments: [(3, 2, "causal"), (2, 3, "same"), (3, 2, "valid")])
    func gradientsMatchFiniteDifferences(kernel: Int, dilation: Int, padding: String) throws {
        let model = try Self.model(kernel: kernel, dilation: dilation, padding: .init(rawValue: padding)!)
        let errors = GradientCheck.largestError(model, input: VisionLayerTests.randomInput([2, 9, 2], seed: 7))
        #expect(errors.parameters < 2e-3 && errors.input < 2e-3, "\(errors)")
    }

    /// A causal stack with dilations 1, 2, 4: changing input steps after t leaves every
    /// output up to t as it was, and the receptive field reaches back 1 + 1 + 2 + 4 steps.
    @Test func causalOutputsDependOnlyOnEarlierSteps() throws {
        let model = try Model([.conv1D(filters: 4, kernel: 2, dilation: 1, padding: .causal, activation: .tanh),
                               .conv1D(filters: 4, kernel: 2, dilation: 2, padding: .causal, activation: .tanh),
                               .conv1D(filters: 3, kernel: 2, dilation: 4, padding: .causal)],
                              inputShape: [16, 2], seed: 8)
        let input = VisionLayerTests.randomInput([1, 16, 2], seed: 9)
        let output = VisionLayerTests.run(model, input)
        for changed in [3, 9, 15] {
            var probe = input
            probe[0, changed, 1] += 1
            let moved = VisionLayerTests.run(model, probe)
            for t in 0..<16 {
                let same = (0..<3).allSatisfy { moved[0, t, $0] == output[0, t, $0] }
                // Output t reads steps t − 7 … t.
                #expect(same == (t < changed || t > changed + 7), "step \(changed) changed, output \(t)")
            }
        }
    }

    @Test func badConfigsNameTheField() throws {
        func message(_ layer: LayerConfig, _ shape: [Int]) -> String {
            do { _ = try Model([layer], inputShape: shape, seed: 1); return "no error" } catch { return "\(error)" }
        }
        #expect(message(.conv1D(filters: 2, kernel: 3, dilation: 4, padding: .valid), [8, 1])
                == "model[0]: a conv1d layer: a kernel of 3 taps with dilation 4 and valid padding does not fit sequences of shape [8, 1]")
        #expect(message(.conv1D(filters: 2, kernel: 3), [1, 8, 8]).hasPrefix("model[0]: a conv1d layer needs per-sample sequences"))
        let layers = try ModuleTests.decode(#"[{"type": "conv1d", "filters": 4, "kernel": 2, "dilation": 2, "padding": "causal"}]"#)
        #expect(try Model(layers, inputShape: [8, 1], seed: 1).outputShape == [8, 4])
        #expect(try ModuleTests.decode(String(decoding: try JSONEncoder().encode(layers), as: UTF8.self)) == layers)
        #expect(ModuleTests.message(#"[{"type": "conv1d", "filters": 4, "kernel": 3, "padding": "full"}]"#)
                == "[0].padding: unknown padding 'full' (expected one of: causal, same, valid)")
        #expect(ModuleTests.message(#"[{"type": "conv1d", "filters": 4, "kernel": 3, "dilation": 0}]"#)
                == "[0].dilation: expected a positive integer, got 0")
        #expect(ModuleTests.message(#"[{"type": "conv1d", "filters": 4}]"#) == "[0].kernel: a conv1d layer needs kernel")
    }
}
