import FlockComm
import FlockNN
import FlockTensor
import Testing
@testable import FlockParallel

/// A rank builds its shard from the model's description alone (no memory for the whole
/// model's values): each slice is made from its parameter's counter-based stream, and
/// equals the slice of the whole model built in memory with the same seed — for pipeline
/// stages, tensor slices of uneven widths, attention heads, Transformer blocks and an
/// embedding's zeroed padding row.
@Suite struct ShardOnlyStartupTests {
    typealias Fixture = ShardedModelFixture

    static let architectures: [Fixture.Architecture] = [.init(), .sequences, .paddedTokens]

    func description(_ architecture: Fixture.Architecture) throws -> Model {
        try Model(architecture.layers, inputShape: architecture.inputShape,
                  generator: RandomGenerator(seed: 11, stream: Model.initializationStream),
                  parameters: ParameterStore(holdsValues: false))
    }

    @Test func theDescriptionHoldsNoValuesButEveryShape() throws {
        let whole = try Fixture.model(seed: 11, .sequences), described = try description(.sequences)
        #expect(!described.parameters.holdsValues && whole.parameters.holdsValues)
        #expect(described.parameters.count == whole.parameters.count)
        #expect(described.parameters.stateLayout.map(\.name) == whole.parameters.stateLayout.map(\.name))
        #expect(described.parameters.stateLayout.map(\.shape) == whole.parameters.stateLayout.map(\.shape))
    }

    @Test(arguments: [1, 2, 3])
    func shardsFromTheDescriptionEqualShardsOfTheWholeModel(width: Int) throws {
        for (index, architecture) in Self.architectures.enumerated() {
            for range in [0..<4, 0..<2, 2..<4, 1..<3] {
                let mismatches = try LocalCommunicator.run(ranks: width, deadline: 30) { communicator -> [String] in
                    let group = width > 1 ? TensorGroup(communicator: communicator) : nil
                    let cut = try ModelShard(model: try Fixture.model(seed: 11, architecture), layers: range, tensorGroup: group)
                    let made = try ModelShard(model: try description(architecture), layers: range, tensorGroup: group)
                    return cut.parameters.slots.compactMap { slot in
                        let other = made.parameters.slot(named: slot.name)
                        let same = other.map { made.parameters.value(of: $0).scalars == cut.parameters.value(of: slot).scalars }
                        return same == true ? nil : slot.name
                    }
                }
                #expect(mismatches.allSatisfy { $0.isEmpty }, "architecture \(index), layers \(range), width \(width): \(mismatches)")
            }
        }
    }

    /// A parameter's values depend on its path and the seed only: a slice made alone
    /// equals the whole parameter's values there, and another seed or path draws others.
    @Test func aSliceMadeAloneEqualsTheWholeParameterThere() {
        let initialization = ParameterInitialization(initializer: .heNormal, fanIn: 40, fanOut: 10,
                                                     stream: CounterRandom(seed: 7, name: "layers.0.weight"))
        var whole = [Float](repeating: 0, count: 400), slice = [Float](repeating: 0, count: 90)
        whole.withUnsafeMutableBufferPointer { initialization.fill($0) }
        slice.withUnsafeMutableBufferPointer { initialization.fill($0, from: 123) }
        #expect(slice == Array(whole[123..<213]))
        var other = initialization
        other.stream = CounterRandom(seed: 7, name: "layers.1.weight")
        var elsewhere = [Float](repeating: 0, count: 400)
        elsewhere.withUnsafeMutableBufferPointer { other.fill($0) }
        #expect(zip(whole, elsewhere).filter { $0 == $1 }.count < 4)
    }
}
