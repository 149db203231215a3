import FlockTensor
import Foundation
import Testing
@testable import FlockNN

/// Graph models against hand-written tape code, shared layers, and the layer list as the
/// one-chain graph.
@Suite struct ModelGraphTests {
    /// Two inputs (columns 0..<3 and 3..<5 of a 5-wide row), two branches merged by add,
    /// multiply and concatenate, two outputs.
    static let branches = ModelGraphConfig(
        inputs: [GraphInputConfig(name: "a", shape: [3]), GraphInputConfig(name: "b", shape: [2])],
        nodes: [GraphNodeConfig(name: "ha", inputs: ["a"], layers: [.dense(units: 4, activation: .tanh)]),
                GraphNodeConfig(name: "hb", inputs: ["b"], layers: [.dense(units: 4)]),
                GraphNodeConfig(name: "sum", inputs: ["ha", "hb"], op: .add),
                GraphNodeConfig(name: "prod", inputs: ["ha", "hb"], op: .multiply),
                GraphNodeConfig(name: "head", inputs: ["sum", "prod"], op: .concatenate, layers: [.dense(units: 2)])],
        outputs: ["head", "sum"])

    /// One encoder applied to two inputs: `enc` on `left`, `enc_r` sharing it on `right`.
    static let shared = ModelGraphConfig(
        inputs: [GraphInputConfig(name: "left", shape: [3]), GraphInputConfig(name: "right", shape: [3])],
        nodes: [GraphNodeConfig(name: "enc", inputs: ["left"], layers: [.dense(units: 2, activation: .tanh)]),
                GraphNodeConfig(name: "enc_r", inputs: ["right"], shares: "enc"),
                GraphNodeConfig(name: "both", inputs: ["enc", "enc_r"], op: .concatenate)],
        outputs: ["both"])

    static func input(rows: Int, width: Int, seed: UInt64 = 3) -> Tensor {
        var generator = RandomGenerator(seed: seed)
        return Tensor.uniform(shape: [rows, width], low: -1, high: 1, using: &generator)
    }

    /// Σ rᵢ ⊙ outputᵢ with fixed random r per output: every element gets its own weight.
    static func objective(_ outputs: [Variable], tape: Tape) -> Variable {
        var generator = RandomGenerator(seed: 17)
        let terms = outputs.map { output in
            tape.sum(tape.multiply(output, tape.constant(Tensor.uniform(shape: output.shape, low: -1, high: 1, using: &generator))))
        }
        return terms.dropFirst().reduce(terms[0]) { tape.add($0, $1) }
    }

    /// y = act(x·Wᵀ + b) from the store's parameters at `path`, in plain tape ops.
    static func dense(_ x: Variable, _ path: String, _ model: Model, tape: Tape, tanh: Bool = false) -> Variable {
        let weight = tape.parameter(model.parameters.slot(named: "\(path).weight")!)
        let bias = tape.parameter(model.parameters.slot(named: "\(path).bias")!)
        let y = tape.add(tape.matmul(x, weight, transposeB: true), bias)
        return tanh ? tape.activation(y, .tanh) : y
    }

    /// Outputs and every parameter gradient of the graph and of `handWritten` on the same store.
    static func compare(_ model: Model, rows: Int, handWritten: (Variable, Tape) -> [Variable])
        -> (outputs: Float, gradients: Float) {
        let features = input(rows: rows, width: model.inputShape.reduce(1, *))
        let store = model.parameters
        store.zeroGradients()
        let tape = Tape(parameters: store)
        var context = ForwardContext(tape: tape, isTraining: true, generator: RandomGenerator(seed: 1))
        let named = model.forwardOutputs(tape.constant(features), context: &context)
        let outputs = model.outputNames.map { named[$0]! }
        tape.backward(from: objective(outputs, tape: tape))
        let graphGradients = store.withGradients { Array($0) }, graphValues = outputs.flatMap(\.value.scalars)

        store.zeroGradients()
        let reference = Tape(parameters: store)
        let expected = handWritten(reference.constant(features), reference)
        reference.backward(from: objective(expected, tape: reference))
        let referenceGradients = store.withGradients { Array($0) }
        let outputError = zip(graphValues, expected.flatMap(\.value.scalars)).map { abs($0 - $1) }.max() ?? .infinity
        let gradientError = zip(graphGradients, referenceGradients).map { abs($0 - $1) }.max() ?? .infinity
        #expect(graphValues.count == expected.flatMap(\.value.scalars).count)
        #expect(referenceGradients.contains { $0 != 0 }, "the reference trained nothing")
        return (outputError, gradientError)
    }

    @Test func aGraphWithTwoInputsAndMergesEqualsHandWrittenTapeCode() throws {
        let model = try Model(graph: Self.branches, featureShape: [5], generator: RandomGenerator(seed: 7))
        #expect(model.parameters.slots.map(\.name)
                == ["ha.0.weight", "ha.0.bias", "hb.0.weight", "hb.0.bias", "head.0.weight", "head.0.bias"])
        let (outputs, gradients) = Self.compare(model, rows: 5) { features, tape in
            let a = tape.slice(features, axis: 1, range: 0..<3), b = tape.slice(features, axis: 1, range: 3..<5)
            let ha = Self.dense(a, "ha.0", model, tape: tape, tanh: true), hb = Self.dense(b, "hb.0", model, tape: tape)
            let sum = tape.add(ha, hb), product = tape.multiply(ha, hb)
            let head = Self.dense(tape.concatenate([sum, product], axis: 1), "head.0", model, tape: tape)
            return [head, sum]
        }
        #expect(outputs < 1e-5, "outputs differ by \(outputs)")
        #expect(gradients < 1e-5, "gradients differ by \(gradients)")
    }

    @Test func aSharedLayerAccumulatesGradientsFromEveryUse() throws {
        let model = try Model(graph: Self.shared, featureShape: [6], generator: RandomGenerator(seed: 7))
        #expect(model.parameters.slots.map(\.name) == ["enc.0.weight", "enc.0.bias"])
        let (outputs, gradients) = Self.compare(model, rows: 4) { features, tape in
            let left = tape.slice(features, axis: 1, range: 0..<3), right = tape.slice(features, axis: 1, range: 3..<6)
            return [tape.concatenate([Self.dense(left, "enc.0", model, tape: tape, tanh: true),
                                      Self.dense(right, "enc.0", model, tape: tape, tanh: true)], axis: 1)]
        }
        #expect(outputs < 1e-5, "outputs differ by \(outputs)")
        #expect(gradients < 1e-5, "gradients differ by \(gradients)")
    }

    @Test func theSharedLayersGradientIsTheSumOfEachUsesGradient() throws {
        let model = try Model(graph: Self.shared, featureShape: [6], generator: RandomGenerator(seed: 7))
        let store = model.parameters, features = Self.input(rows: 4, width: 6)
        func gradient(keeping kept: Range<Int>) -> [Float] {
            store.zeroGradients()
            let tape = Tape(parameters: store)
            var context = ForwardContext(tape: tape, isTraining: true, generator: RandomGenerator(seed: 1))
            let both = model.forward(tape.constant(features), context: &context)
            var mask = Tensor(zeros: both.shape)
            for row in 0..<4 { for column in kept { mask.scalars[row * 4 + column] = Float(column + 1) } }
            tape.backward(from: tape.sum(tape.multiply(both, tape.constant(mask))))
            return store.withGradients { Array($0) }
        }
        let whole = gradient(keeping: 0..<4), left = gradient(keeping: 0..<2), right = gradient(keeping: 2..<4)
        #expect(left.contains { $0 != 0 } && right.contains { $0 != 0 })
        let error = zip(whole, zip(left, right)).map { abs($0 - ($1.0 + $1.1)) }.max()!
        #expect(error < 1e-5, "the shared gradient is not the sum of its uses' (off by \(error))")
    }

    static let layers: [LayerConfig] = [.dense(units: 8, activation: .relu), .dropout(rate: 0.1), .dense(units: 3)]

    @Test func aLayerListBuildsTheSameParametersAsBeforeGraphs() throws {
        let model = try Model(Self.layers, inputShape: [5], seed: 42)
        // The way a list was built before graphs: a root Sequential at `layers`.
        let store = ParameterStore()
        var generator = RandomGenerator(seed: 42, stream: Model.initializationStream)
        _ = try Sequential(Self.layers, inputShape: [5], parameters: store, generator: &generator)
        store.compact()
        #expect(model.parameters.slots.map(\.name) == ["layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias"])
        #expect(model.parameters.slots.map(\.name) == store.slots.map(\.name))
        #expect(model.parameters.snapshotParameters() == store.snapshotParameters())
        #expect(model.graph == nil && model.outputNames == ["output"])
    }

    @Test func aOneNodeGraphNamedLayersIsTheLayerListBitForBit() throws {
        let list = try Model(Self.layers, inputShape: [5], seed: 42)
        let graph = try Model(graph: ModelGraphConfig(inputs: [GraphInputConfig(name: "x")],
                                                      nodes: [GraphNodeConfig(name: "layers", inputs: ["x"], layers: Self.layers)],
                                                      outputs: ["layers"]),
                              featureShape: [5], generator: RandomGenerator(seed: 42, stream: Model.initializationStream))
        #expect(graph.parameters.slots.map(\.name) == list.parameters.slots.map(\.name))
        #expect(graph.parameters.snapshotParameters() == list.parameters.snapshotParameters())
        let features = Self.input(rows: 3, width: 5)
        func run(_ model: Model) -> [Float] {
            let tape = Tape(parameters: model.parameters)
            var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 1))
            return model.forward(tape.constant(features), context: &context).value.scalars
        }
        #expect(run(graph) == run(list))
    }

    static let twoInputs = [GraphInputConfig(name: "a", shape: [3]), GraphInputConfig(name: "b", shape: [2])]

    static func message(_ nodes: [GraphNodeConfig], outputs: [String], inputs: [GraphInputConfig] = twoInputs) -> String {
        do {
            _ = try Model(graph: ModelGraphConfig(inputs: inputs, nodes: nodes, outputs: outputs), featureShape: [5],
                          generator: RandomGenerator(seed: 1))
            return "no error"
        } catch { return "\(error)" }
    }

    @Test func badGraphsNameTheField() {
        let dense: [LayerConfig] = [.dense(units: 2)]
        #expect(Self.message([GraphNodeConfig(name: "h", inputs: ["c"], layers: dense)], outputs: ["h"])
                == "model.nodes[0].inputs[0]: unknown value 'c' (expected an input or an earlier node: a, b)")
        #expect(Self.message([GraphNodeConfig(name: "h", inputs: ["a", "b"], op: .add)], outputs: ["h"])
                == "model.nodes[0].inputs: add takes inputs of one shape, got a: [3], b: [2]")
        #expect(Self.message([GraphNodeConfig(name: "h", inputs: ["a", "b"])], outputs: ["h"])
                == "model.nodes[0].op: a node with several inputs merges them: expected one of add, concatenate, multiply, euclidean_distance, cosine_distance, dot")
        #expect(Self.message([GraphNodeConfig(name: "h", inputs: ["a"], shares: "g")], outputs: ["h"])
                == "model.nodes[0].shares: unknown value 'g' (expected an earlier node with layers: )")
        #expect(Self.message([GraphNodeConfig(name: "h", inputs: ["a"], layers: [.dense(units: 3), .sampling()])], outputs: ["h"])
                == "model.nodes[0].layers[1]: a sampling layer takes [mean | log_var] halves: expected an even last size, got input shape [3]")
        #expect(Self.message([GraphNodeConfig(name: "h", inputs: ["b"], layers: dense), GraphNodeConfig(name: "g", inputs: ["a"], shares: "h")],
                             outputs: ["g"])
                == "model.nodes[1].inputs: node 'h' takes inputs of shape [2], got [3]")
        #expect(Self.message([GraphNodeConfig(name: "h", inputs: ["a"], layers: dense)], outputs: ["h"],
                             inputs: [GraphInputConfig(name: "a", shape: [4])])
                == "model.inputs: the inputs take 4 columns of the feature row but the data's samples have 5 (shape [5])")
        #expect(Self.message([GraphNodeConfig(name: "features", inputs: ["a"], layers: dense)], outputs: ["features"])
                == "model.nodes[0].name: 'features' is reserved for loss targets; choose another name")
        #expect(Self.message([GraphNodeConfig(name: "h", inputs: ["a"], layers: dense)], outputs: ["z"])
                == "model.outputs[0]: unknown value 'z' (expected one of: a, b, h)")
    }
}
