import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// Convolution, pooling and normalization layers: values against direct computations,
/// gradients against finite differences, configs.
@Suite struct VisionLayerTests {
    static func randomInput(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        return Tensor.uniform(shape: shape, low: -1, high: 1, using: &generator)
    }

    /// Distinct values in [−2, 2) at least 4/count apart, shuffled: finite differences
    /// of step 0.01 never swap which value of a pooling window wins.
    static func spacedInput(_ shape: [Int], seed: UInt64) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        let count = shape.reduce(1, *)
        return Tensor(shape: shape, scalars: generator.permutation(count).map { Float($0) * 4 / Float(count) - 2 })
    }

    static func run(_ model: Model, _ input: Tensor, isTraining: Bool = false) -> Tensor {
        let tape = Tape(parameters: model.parameters)
        var context = ForwardContext(tape: tape, isTraining: isTraining, generator: RandomGenerator(seed: 1))
        return model.forward(tape.constant(input), context: &context).value
    }

    /// Cross-correlation by its definition, one output at a time. Padding before the
    /// first row/column: half the total padding SAME needs, rounded down.
    static func directConvolution(_ x: Tensor, weight: Tensor, bias: Tensor, stride: Int, same: Bool, groups: Int) -> Tensor {
        let (batch, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let (filters, perGroup, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let oh = same ? (height + stride - 1) / stride : (height - kh) / stride + 1
        let ow = same ? (width + stride - 1) / stride : (width - kw) / stride + 1
        let top = same ? max((oh - 1) * stride + kh - height, 0) / 2 : 0
        let left = same ? max((ow - 1) * stride + kw - width, 0) / 2 : 0
        var y = Tensor(zeros: [batch, filters, oh, ow])
        let filtersPerGroup = filters / groups
        for b in 0..<batch {
            for f in 0..<filters {
                let group = f / filtersPerGroup
                for r in 0..<oh {
                    for c in 0..<ow {
                        var total = bias[f]
                        for k in 0..<perGroup {
                            let channel = group * perGroup + k
                            for i in 0..<kh {
                                for j in 0..<kw {
                                    let row = r * stride - top + i, column = c * stride - left + j
                                    guard row >= 0, row < height, column >= 0, column < width else { continue }
                                    total += weight[f, k, i, j] * x[b, channel, row, column]
                                }
                            }
                        }
                        y[b, f, r, c] = total
                    }
                }
            }
        }
        _ = channels
        return y
    }

    @Test(arguments: [(3, 1, true, 1), (3, 2, true, 1), (3, 2, false, 1), (2, 3, true, 1), (3, 1, false, 2), (1, 2, true, 1)])
    func convolutionMatchesTheDirectDefinition(kernel: Int, stride: Int, same: Bool, groups: Int) throws {
        let model = try Model([.conv2D(filters: 4, kernel: kernel, stride: stride, padding: same ? .same : .valid, groups: groups)],
                              inputShape: [2, 7, 6], seed: 3)
        // A non-zero bias, so its broadcast is checked too.
        model.parameters.setValue(Tensor(shape: [4], scalars: [0.5, -1, 2, 0.25]), of: model.parameters.slots[1])
        let input = Self.randomInput([3, 2, 7, 6], seed: 4)
        let expected = Self.directConvolution(input, weight: model.parameters.value(of: model.parameters.slots[0]),
                                              bias: model.parameters.value(of: model.parameters.slots[1]),
                                              stride: stride, same: same, groups: groups)
        let output = Self.run(model, input)
        #expect(output.shape == expected.shape)
        #expect(zip(output.scalars, expected.scalars).allSatisfy { abs($0 - $1) < 1e-4 })
    }

    @Test(arguments: [
        [LayerConfig.conv2D(filters: 3, kernel: 3, stride: 2, padding: .same)],
        [.conv2D(filters: 3, kernel: 2, stride: 1, padding: .valid, activation: .tanh)],
        [.conv2D(filters: 4, kernel: 3, stride: 2, padding: .valid, groups: 2)],
        [.conv2D(filters: 3, kernel: 1, stride: 2)],
        [.separableConv2D(filters: 3, kernel: 3, stride: 2, depthMultiplier: 2)],
        [.maxPool2D(pool: 3, stride: 2, padding: .same)],
        [.maxPool2D(pool: 2, padding: .valid)],
        [.avgPool2D(pool: 3, stride: 2, padding: .same)],
        [.avgPool2D(pool: 2, stride: 1, padding: .valid)],
        [.globalAveragePool],
        [.groupNorm(groups: 2)],
        [.layerNorm(axes: .last)],
        [.layerNorm(axes: .all)],
        [.residual([.conv2D(filters: 3, kernel: 3, stride: 2, activation: .tanh), .conv2D(filters: 3, kernel: 3)])],
    ])
    func gradientsMatchFiniteDifferences(layers: [LayerConfig]) throws {
        // Odd sizes so SAME padding is uneven and strides leave a remainder.
        let model = try Model(layers + [.activation(.tanh)], inputShape: [2, 5, 7], seed: 5)
        let input = Self.spacedInput([2, 2, 5, 7], seed: 6)
        let errors = GradientCheck.largestError(model, input: input)
        #expect(errors.parameters < 5e-3, "parameters \(errors.parameters)")
        #expect(errors.input < 5e-3, "input \(errors.input)")
    }

    @Test func reluConvolutionGradientsMatchFiniteDifferences() throws {
        // Few, well-separated inputs keep the finite differences away from ReLU's kink.
        let model = try Model([.conv2D(filters: 2, kernel: 3, stride: 2, padding: .same, activation: .relu)],
                              inputShape: [1, 5, 5], seed: 7)
        model.parameters.setValue(Tensor(shape: [2], scalars: [0.3, -0.2]), of: model.parameters.slots[1])
        let errors = GradientCheck.largestError(model, input: Self.randomInput([2, 1, 5, 5], seed: 8), step: 1e-3)
        #expect(errors.parameters < 5e-3 && errors.input < 5e-3, "\(errors)")
    }

    @Test func batchNormGradientsMatchFiniteDifferencesInTraining() throws {
        let model = try Model([.conv2D(filters: 3, kernel: 3, stride: 2), .batchNorm(), .activation(.tanh)],
                              inputShape: [2, 5, 7], seed: 9)
        let errors = GradientCheck.largestError(model, input: Self.randomInput([3, 2, 5, 7], seed: 10), isTraining: true)
        #expect(errors.parameters < 5e-3, "parameters \(errors.parameters)")
        #expect(errors.input < 5e-3, "input \(errors.input)")
        let inference = GradientCheck.largestError(model, input: Self.randomInput([3, 2, 5, 7], seed: 10), isTraining: false)
        #expect(inference.parameters < 5e-3 && inference.input < 5e-3, "\(inference)")
    }

    @Test func batchNormUsesBatchStatisticsInTrainingAndRunningOnesAtInference() throws {
        let model = try Model([.batchNorm()], inputShape: [2, 1, 2], seed: 1)
        // Channel 0 holds 1, 3 (sample 0) and 5, 7 (sample 1); channel 1 holds 2, 2, 2, 6.
        let input = Tensor(shape: [2, 2, 1, 2], scalars: [1, 3, 2, 2, 5, 7, 2, 6])
        let training = Self.run(model, input, isTraining: true)
        // Channel 0: mean 4, biased variance (9 + 1 + 1 + 9) / 4 = 5. Channel 1: mean 3, variance 3.
        let d0 = (5 + 1e-5 as Float).squareRoot(), d1 = (3 + 1e-5 as Float).squareRoot()
        let expected: [Float] = [-3 / d0, -1 / d0, -1 / d1, -1 / d1, 1 / d0, 3 / d0, -1 / d1, 3 / d1]
        #expect(zip(training.scalars, expected).allSatisfy { abs($0 - $1) < 1e-5 }, "\(training.scalars)")
        // Running statistics: 0.9·initial + 0.1·batch, the variance unbiased (×4/3).
        let buffers = model.parameters.bufferSlots
        #expect(buffers.map(\.name) == ["layers.0.running_mean", "layers.0.running_var"])
        let mean = model.parameters.value(of: buffers[0]).scalars, variance = model.parameters.value(of: buffers[1]).scalars
        #expect(abs(mean[0] - 0.4) < 1e-6 && abs(mean[1] - 0.3) < 1e-6, "\(mean)")
        #expect(abs(variance[0] - (0.9 + 0.1 * 20 / 3)) < 1e-5 && abs(variance[1] - (0.9 + 0.1 * 4)) < 1e-5, "\(variance)")
        // Inference normalizes with the running statistics and leaves them alone.
        let inference = Self.run(model, input, isTraining: false)
        let r0 = (variance[0] + 1e-5).squareRoot()
        #expect(abs(inference.scalars[0] - (1 - 0.4) / r0) < 1e-5)
        #expect(abs(inference.scalars[5] - (7 - 0.4) / r0) < 1e-5)
        #expect(model.parameters.value(of: buffers[0]).scalars == mean)
    }

    @Test func maxAndAveragePoolingPickTheirWindows() throws {
        let input = Tensor(shape: [1, 1, 3, 3], scalars: [1, 9, 2, 4, 5, 6, 7, 8, 3])
        // 2×2 windows, stride 2, SAME: windows {1,9,4,5}, {2,6}, {7,8}, {3}.
        let maxModel = try Model([.maxPool2D(pool: 2, padding: .same)], inputShape: [1, 3, 3], seed: 1)
        #expect(Self.run(maxModel, input).scalars == [9, 6, 8, 3])
        let averageModel = try Model([.avgPool2D(pool: 2, padding: .same)], inputShape: [1, 3, 3], seed: 1)
        #expect(Self.run(averageModel, input).scalars == [19 / 4, 4, 7.5, 3])
        let globalModel = try Model([.globalAveragePool], inputShape: [1, 3, 3], seed: 1)
        #expect(Self.run(globalModel, input).scalars == [5])
    }

    @Test func groupNormNormalizesEachGroupOfEachSample() throws {
        let model = try Model([.groupNorm(groups: 2)], inputShape: [4, 1, 2], seed: 1)
        let input = Self.randomInput([2, 4, 1, 2], seed: 2)
        let output = Self.run(model, input)
        for segment in 0..<4 {   // 2 samples × 2 groups of 4 values
            let values = output.scalars[(segment * 4)..<(segment * 4 + 4)]
            let mean = values.reduce(0, +) / 4
            let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
            #expect(abs(mean) < 1e-5 && abs(variance - 1) < 1e-3, "segment \(segment): mean \(mean), variance \(variance)")
        }
    }

    @Test func aResidualBlockThatDownsamplesGetsAStridedOneByOneProjection() throws {
        let model = try Model([.residual([.conv2D(filters: 8, kernel: 3, stride: 2), .batchNorm()])], inputShape: [4, 5, 5], seed: 1)
        #expect(model.outputShape == [8, 3, 3])
        let projection = try #require(model.parameters.slot(named: "layers.0.projection.0.weight"))
        #expect(projection.shape == [8, 4, 1, 1])
        #expect(model.parameters.slot(named: "layers.0.projection.0.bias") == nil)
        // An explicit projection replaces the automatic one.
        let explicit = try Model([.residual([.conv2D(filters: 8, kernel: 3, stride: 2)],
                                            projection: [.conv2D(filters: 8, kernel: 1, stride: 2), .batchNorm()])],
                                 inputShape: [4, 5, 5], seed: 1)
        #expect(explicit.parameters.slots.map(\.name).contains("layers.0.projection.1.weight"))
    }

    @Test func visionLayersDecodeFromConfigsAndNameBadFields() throws {
        let layers = try ModuleTests.decode(#"""
        [{"type": "conv2d", "filters": 4, "kernel": [3, 1], "stride": 2, "padding": "valid", "activation": "relu"},
         {"type": "batch_norm", "synchronized": true}, {"type": "max_pool2d", "pool": 2},
         {"type": "separable_conv2d", "filters": 2, "kernel": 3}, {"type": "group_norm", "groups": 2},
         {"type": "avg_pool2d", "pool": 1}, {"type": "global_avg_pool"}, {"type": "layer_norm"}]
        """#)
        let model = try Model(layers, inputShape: [1, 9, 8], seed: 1)
        #expect(model.outputShape == [2])
        let data = try JSONEncoder().encode(layers)
        #expect(try ModuleTests.decode(String(decoding: data, as: UTF8.self)) == layers)
        #expect(ModuleTests.message(#"[{"type": "conv2d", "filters": 4, "kernel": 3, "padding": "full"}]"#)
                == "[0].padding: unknown padding 'full' (expected one of: same, valid)")
        #expect(ModuleTests.message(#"[{"type": "conv2d", "filters": 4, "kernel": [3, 0]}]"#)
                == "[0].kernel: expected a positive integer, got 0")
        #expect(ModuleTests.message(#"[{"type": "conv2d", "kernel": 3}]"#) == "[0].filters: a conv2d layer needs filters")
        #expect {
            _ = try Model([.dense(units: 4), .conv2D(filters: 2, kernel: 3)], inputShape: [3], seed: 1)
        } throws: { error in
            "\(error)".hasPrefix("model[1]: a conv2d layer needs per-sample inputs of shape (channels, height, width), got [4]")
        }
        #expect {
            _ = try Model([.conv2D(filters: 3, kernel: 3, groups: 2)], inputShape: [4, 5, 5], seed: 1)
        } throws: { error in
            "\(error)" == "model[0]: groups: 2 must divide both the input channels (4) and filters (3)"
        }
    }
}
