import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// A test layer kind registered outside Flock: multiplies by `factor` and counts the
/// samples it saw in training in a buffer, as a normalization layer's running statistics would.
struct SampleCounter: Layer {
    let factor: Float
    let seen: BufferSlot
    let outputShape: [Int]
    var ownBuffers: [BufferSlot] { [seen] }

    func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        if context.isTraining {
            context.tape.parameters.withBuffer(seen) { $0[0] += Float(input.shape[0]) }
        }
        return context.tape.scale(input, by: factor)
    }

    struct Spec: LayerSpec {
        static let typeName = "sample_counter"
        var factor: Double

        enum CodingKeys: String, CodingKey, CaseIterable { case factor }

        init(factor: Double) { self.factor = factor }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self, alsoAllowed: ["type"])
            factor = try decoder.container(keyedBy: CodingKeys.self).value(.factor, or: 1)
        }

        func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            SampleCounter(factor: Float(factor), seen: builder.buffer("seen", shape: [1], initialValue: 0), outputShape: inputShape)
        }
    }
}

/// A broken user layer: registers a parameter but does not list it.
struct Forgetful: Layer {
    let outputShape: [Int]
    func forward(_ input: Variable, context: inout ForwardContext) -> Variable { input }

    struct Spec: LayerSpec {
        static let typeName = "forgetful"
        func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            _ = builder.parameter("weight", shape: [2], isDecayed: true, initializer: nil)
            return Forgetful(outputShape: inputShape)
        }
    }
}

@Suite struct ModuleTests {
    @Test func aLayerThatDoesNotListItsParametersIsRejected() {
        #expect {
            _ = try Model([.dense(units: 2), LayerConfig(Forgetful.Spec())], inputShape: [3], seed: 1)
        } throws: { error in
            "\(error)" == "model: parameter layers.1.weight was registered but no layer lists it in ownParameters"
        }
    }

    static func decode(_ json: String, registry: LayerRegistry = .standard) throws -> [LayerConfig] {
        let decoder = JSONDecoder()
        decoder.userInfo[.layerRegistry] = registry
        do { return try decoder.decode([LayerConfig].self, from: Data(json.utf8)) } catch let error as DecodingError {
            throw ConfigError.from(error)
        }
    }

    static func message(_ json: String) -> String? {
        do { _ = try decode(json); return nil } catch { return "\(error)" }
    }

    @Test func nestedLayersNameParametersByPath() throws {
        let model = try Model([.dense(units: 8), .residual([.dense(units: 8, activation: .relu), .dense(units: 8)]),
                               .sequential([.dense(units: 4), .dense(units: 2, useBias: false)])],
                              inputShape: [3], seed: 1)
        #expect(model.parameters.slots.map(\.name) == [
            "layers.0.weight", "layers.0.bias",
            "layers.1.block.0.weight", "layers.1.block.0.bias", "layers.1.block.1.weight", "layers.1.block.1.bias",
            "layers.2.0.weight", "layers.2.0.bias", "layers.2.1.weight",
        ])
        #expect(model.namedLayers.map(\.path) == ["layers", "layers.0", "layers.1", "layers.1.block", "layers.1.block.0",
                                                   "layers.1.block.1", "layers.2", "layers.2.0", "layers.2.1"])
        let residual = model.root.layers[1]
        #expect(residual.allParameters.map(\.name) == ["layers.1.block.0.weight", "layers.1.block.0.bias",
                                                        "layers.1.block.1.weight", "layers.1.block.1.bias"])
        #expect(model.outputShape == [2])
    }

    @Test func residualAddsItsInputToTheBlock() throws {
        let model = try Model([.residual([.dense(units: 3, initializer: .zeros)])], inputShape: [3], seed: 1)
        let tape = Tape(parameters: model.parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        let input = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        // Zero weights and bias: the block outputs 0, so the layer is the identity.
        #expect(model.forward(tape.constant(input), context: &context).value == input)
    }

    @Test func residualGradientsMatchFiniteDifferences() throws {
        let model = try Model([.residual([.dense(units: 4, activation: .tanh), .dense(units: 4)]), .dense(units: 3)],
                              inputShape: [4], seed: 3)
        var generator = RandomGenerator(seed: 4)
        let input = Tensor.uniform(shape: [5, 4], low: -1, high: 1, using: &generator)
        let labels = [0, 1, 2, 1, 0]
        var inputGradient: Tensor?
        let error = parameterGradientError({ model.forward($0, context: &$1) }, store: model.parameters, input: input,
                                           labels: labels, probe: { inputGradient = $0.gradient })
        #expect(error < 5e-3)
        // The skip path carries gradient to the input too.
        #expect(inputGradient.map { $0.scalars.contains { $0 != 0 } } == true)
    }

    @Test func denseMapsTheLastAxisOfAnyRank() throws {
        let model = try Model([.dense(units: 2)], inputShape: [3, 4], seed: 5)
        #expect(model.outputShape == [3, 2])
        let weight = model.parameters.value(of: model.parameters.slots[0])   // (2, 4)
        let bias = model.parameters.value(of: model.parameters.slots[1])     // (2)
        var generator = RandomGenerator(seed: 6)
        let input = Tensor.uniform(shape: [2, 3, 4], low: -1, high: 1, using: &generator)
        let tape = Tape(parameters: model.parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: generator)
        let output = model.forward(tape.constant(input), context: &context).value
        #expect(output.shape == [2, 3, 2])
        // Each position (b, t) independently: y = W·x + b.
        for position in 0..<6 {
            for unit in 0..<2 {
                var expected = bias.scalars[unit]
                for c in 0..<4 { expected += weight.scalars[unit * 4 + c] * input.scalars[position * 4 + c] }
                #expect(abs(output.scalars[position * 2 + unit] - expected) < 1e-5)
            }
        }
    }

    @Test func configErrorsNameTheNestedField() {
        #expect(Self.message(#"[{"type": "dense", "units": 4}, {"type": "residual", "block": [{"type": "dense", "units": -3}]}]"#)
                == "[1].block[0].units: expected a positive integer, got -3")
        #expect(Self.message(#"[{"type": "dense", "units": 4, "rate": 0.5}]"#)
                    == "[0].rate: not a field of a dense layer (expected one of: units, activation, alpha, initializer, use_bias)")
        #expect(Self.message(#"[{"type": "flatten", "units": 2}]"#) == "[0].units: not a field of a flatten layer (no fields)")
        #expect(Self.message(#"[{"type": "conv9d"}]"#)
                == "[0].type: unknown layer type 'conv9d' (expected one of: dense, dropout, flatten, activation, sequential, residual, conv1d, conv2d, separable_conv2d, max_pool2d, avg_pool2d, global_avg_pool, batch_norm, layer_norm, group_norm, embedding, positional_encoding, multi_head_attention, transformer_encoder, transformer_decoder, sequence_pool, simple_rnn, lstm, gru, gaussian_noise, sampling, latent_noise, stop_gradient)")
        #expect(Self.message(#"[{"units": 3}]"#) == "[0].type: required field is missing")
    }

    @Test func aResidualBlockThatChangesTheShapeBeyondAProjectionIsAConfigError() {
        #expect {
            _ = try Model([.dense(units: 3), .residual([.flatten])], inputShape: [2, 2], seed: 1)
        } throws: { error in
            "\(error)" == "model[1]: the residual block maps per-sample shape [2, 3] to [6] and no 1×1 projection matches; give projection: layers"
        }
    }

    @Test func layerConfigsSurviveAnEncodeDecodeRoundTrip() throws {
        let layers: [LayerConfig] = [.dense(units: 4, activation: .leakyRelu, alpha: 0.2, initializer: .heUniform),
                                     .dropout(rate: 0.25), .flatten, .activation(.elu, alpha: 1.5),
                                     .residual([.dense(units: 4)]), .sequential([.dense(units: 2)])]
        let data = try JSONEncoder().encode(layers)
        #expect(try Self.decode(String(decoding: data, as: UTF8.self)) == layers)
        #expect(try Self.decode(#"[{"type": "dropout", "rate": 0.5}]"#) != [.dropout(rate: 0.25)])
    }

    @Test func aRegisteredKindDecodesBuildsAndKeepsABuffer() throws {
        var registry = LayerRegistry.standard
        registry.register(SampleCounter.Spec.self)
        let layers = try Self.decode(#"[{"type": "dense", "units": 2}, {"type": "sample_counter", "factor": 2}]"#, registry: registry)
        // The standard registry does not know the new kind.
        #expect(throws: ConfigError.self) { _ = try Self.decode(#"[{"type": "sample_counter"}]"#) }
        let model = try Model(layers, inputShape: [3], seed: 1)
        #expect(model.parameters.bufferSlots.map(\.name) == ["layers.1.seen"])
        #expect(model.parameters.stateLayout.map(\.name) == ["layers.0.weight", "layers.0.bias", "layers.1.seen"])
        let tape = Tape(parameters: model.parameters)
        var context = ForwardContext(tape: tape, isTraining: true, generator: RandomGenerator(seed: 1))
        let output = model.forward(tape.constant(Tensor(repeating: 1, shape: [5, 3])), context: &context)
        tape.backward(from: tape.sum(output))
        #expect(model.parameters.value(of: model.parameters.bufferSlots[0]).scalars == [5])
        // Optimizers see parameters only: the buffer is not touched by a step.
        var optimizer = SGD()
        optimizer.step(model.parameters, learningRate: 0.1)
        #expect(model.parameters.value(of: model.parameters.bufferSlots[0]).scalars == [5])
        // Inference reads the buffer without updating it.
        context.isTraining = false
        _ = model.forward(tape.constant(Tensor(repeating: 1, shape: [7, 3])), context: &context)
        #expect(model.parameters.snapshotState().last == 5)
    }
}
