import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// The conv1d layer: values against the definition computed one output at a time,
/// gradients against finite differences, causality checked by perturbing future steps,
/// and its config errors.
@Suite struct Conv1DTests {
    /// y[b, t, f] = bias[f] + Σ_{c,k} W[f, c, k]·x[b, t·s + k·d − pad, g·C/G + c] with g
    /// the group of filter f, by its definition; `pad` is what each padding puts before the
    /// sequence (causal: the whole span − 1; same: TensorFlow's, ⌈T/s⌉ outputs and the
    /// smaller half of what they read past the sequence before it).
    static func direct(_ x: Tensor, weight: Tensor, bias: Tensor, dilation: Int, stride: Int = 1, groups: Int = 1,
                       padding: Convolution1DGeometry.Padding) -> Tensor {
        let (batch, steps) = (x.shape[0], x.shape[1])
        let (filters, channelsPerGroup, kernel) = (weight.shape[0], weight.shape[1], weight.shape[2])
        let span = (kernel - 1) * dilation + 1
        let outputSteps = padding == .valid ? (steps - span) / stride + 1 : (steps + stride - 1) / stride
        let pad = switch padding {
        case .causal: span - 1
        case .same: max((outputSteps - 1) * stride + span - steps, 0) / 2
        case .valid: 0
        }
        var y = Tensor(zeros: [batch, outputSteps, filters])
        for b in 0..<batch {
            for t in 0..<outputSteps {
                for f in 0..<filters {
                    var total = bias[f]
                    let group = f / (filters / groups)
                    for c in 0..<channelsPerGroup {
                        for k in 0..<kernel {
                            let s = t * stride + k * dilation - pad
                            if s >= 0 && s < steps { total += weight[f, c, k] * x[b, s, group * channelsPerGroup + c] }
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

    /// Strides and groups, against the definition: 4 channels, 6 filters, 10 steps.
    @Test(arguments: [(3, 1, 2, 1, "same"), (3, 1, 2, 2, "valid"), (2, 3, 3, 2, "same"), (2, 2, 2, 4, "causal"),
                      (3, 2, 4, 1, "valid"), (1, 1, 3, 2, "same"), (4, 1, 1, 2, "same")])
    func stridesAndGroupsMatchTheDefinition(kernel: Int, dilation: Int, stride: Int, groups: Int, padding: String) throws {
        let padding = Convolution1DGeometry.Padding(rawValue: padding)!
        let model = try Model([.conv1D(filters: groups == 4 ? 4 : 6, kernel: kernel, dilation: dilation, stride: stride, padding: padding,
                                       groups: groups)], inputShape: [10, 4], seed: 5)
        let weight = model.parameters.value(of: model.parameters.slots[0])
        #expect(weight.shape == [groups == 4 ? 4 : 6, 4 / groups, kernel])
        model.parameters.setValue(Tensor(shape: [weight.shape[0]], scalars: (0..<weight.shape[0]).map { Float($0) - 1.5 }),
                                  of: model.parameters.slots[1])
        let input = VisionLayerTests.randomInput([2, 10, 4], seed: 6)
        let expected = Self.direct(input, weight: weight, bias: model.parameters.value(of: model.parameters.slots[1]),
                                   dilation: dilation, stride: stride, groups: groups, padding: padding)
        let output = VisionLayerTests.run(model, input)
        #expect(output.shape == expected.shape)
        #expect(zip(output.scalars, expected.scalars).allSatisfy { abs($0 - $1) < 1e-5 })
        let errors = GradientCheck.largestError(model, input: input)
        #expect(errors.parameters < 2e-3 && errors.input < 2e-3, "\(errors)")
    }

    /// Output lengths and padding by hand: 9 steps, kernel 3, stride 2 (TensorFlow: SAME ⌈9/2⌉ = 5
    /// reading 2 steps past the sequence, 1 before; VALID ⌊(9 − 3)/2⌋ + 1 = 4); 10 steps,
    /// kernel 2 with dilation 3 (span 4), stride 3: SAME 4 outputs reading 13 steps, pad 1
    /// before; VALID 3; causal 4, pad 3 before.
    @Test func stridedOutputLengthsAreTensorFlows() throws {
        let cases: [(Int, Int, Int, Int, Convolution1DGeometry.Padding, Int, Int)] = [
            (9, 3, 1, 2, .same, 5, 1), (9, 3, 1, 2, .valid, 4, 0), (9, 3, 1, 2, .causal, 5, 2),
            (10, 2, 3, 3, .same, 4, 1), (10, 2, 3, 3, .valid, 3, 0), (10, 2, 3, 3, .causal, 4, 3),
        ]
        for (steps, kernel, dilation, stride, padding, outputs, before) in cases {
            let geometry = try #require(Convolution1DGeometry(steps: steps, channels: 1, kernel: kernel, dilation: dilation,
                                                              stride: stride, padding: padding))
            #expect(geometry.outputSteps == outputs && geometry.padBefore == before, "\(steps) \(kernel) \(dilation) \(stride) \(padding)")
        }
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
        #expect(ModuleTests.message(#"[{"type": "conv1d", "filters": 4, "kernel": 3, "stride": 0}]"#)
                == "[0].stride: expected a positive integer, got 0")
        #expect(message(.conv1D(filters: 3, kernel: 2, groups: 2), [8, 4])
                == "model[0]: groups: 2 must divide both the input channels (4) and filters (3)")
        #expect(message(.conv1D(filters: 4, kernel: 2, groups: 2), [8, 3])
                == "model[0]: groups: 2 must divide both the input channels (3) and filters (4)")
        let strided = try ModuleTests.decode(#"[{"type": "conv1d", "filters": 4, "kernel": 3, "stride": 2, "groups": 2}]"#)
        #expect(try Model(strided, inputShape: [9, 2], seed: 1).outputShape == [5, 4])
        #expect(try ModuleTests.decode(String(decoding: try JSONEncoder().encode(strided), as: UTF8.self)) == strided)
    }
}
