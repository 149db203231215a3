import Testing
@testable import FlockTensor

/// Observers, deferred weight gradients and several tapes on one store: what pipeline
/// schedules and data parallelism need from the tape.
@Suite struct TapeScheduleTests {
    /// A two-layer linear model on a fixed batch; returns the store, its slots and a
    /// function that records forward on a tape and returns (input leaf, loss).
    static func twoLayers() -> (ParameterStore, (Tape, Tensor) -> (Variable, Variable)) {
        let store = ParameterStore()
        let w1 = store.register(name: "w1", shape: [4, 3], isDecayed: true)
        let b1 = store.register(name: "b1", shape: [4], isDecayed: false)
        let w2 = store.register(name: "w2", shape: [2, 4], isDecayed: true)
        var generator = RandomGenerator(seed: 11)
        store.withParameters { values in for i in values.indices { values[i] = generator.nextUniform(-1, 1) } }
        let forward = { (tape: Tape, input: Tensor) -> (Variable, Variable) in
            let x = tape.leaf(input)
            let hidden = tape.activation(tape.linear(x, weight: w1, bias: b1), .tanh, alpha: nil)
            return (x, tape.sum(tape.linear(hidden, weight: w2, bias: nil)))
        }
        return (store, forward)
    }

    static let input = Tensor(shape: [2, 3], scalars: [0.5, -1, 2, 1, 0.25, -0.5])

    @Test func everyObserverHearsEveryParameterInBackwardOrder() {
        let (store, forward) = Self.twoLayers()
        let tape = Tape(parameters: store)
        var first: [String] = [], second: [String] = []
        tape.addGradientReadyObserver { first.append($0.name) }
        tape.addGradientReadyObserver { second.append($0.name) }
        tape.backward(from: forward(tape, Self.input).1)
        #expect(first == ["w2", "w1", "b1"])
        #expect(second == first)
    }

    @Test func deferredWeightGradientsArriveOnlyWithBackwardWeights() {
        let (reference, referenceForward) = Self.twoLayers()
        let referenceTape = Tape(parameters: reference)
        let (referenceInput, referenceLoss) = referenceForward(referenceTape, Self.input)
        referenceTape.backward(from: referenceLoss)
        let expectedWeights = reference.withGradients { Array($0) }
        let expectedInput = referenceInput.gradient!

        let (store, forward) = Self.twoLayers()
        let tape = Tape(parameters: store)
        var ready: [String] = []
        tape.addGradientReadyObserver { ready.append($0.name) }
        let (input, loss) = forward(tape, Self.input)
        tape.backward(from: loss, weightGradients: .deferred)
        // Input gradients are complete; no weight gradient yet, and nothing announced.
        #expect(input.gradient == expectedInput)
        #expect(store.withGradients { $0.allSatisfy { $0 == 0 } })
        #expect(ready.isEmpty)
        #expect(tape.hasDeferredWeightWork)
        tape.backwardWeights()
        #expect(store.withGradients { Array($0) } == expectedWeights)
        #expect(ready == ["w2", "w1", "b1"])
        #expect(!tape.hasDeferredWeightWork)
    }

    @Test func twoTapesInFlightOnOneStoreAddUp() {
        let inputs = [Self.input, Self.input.map { $0 * 0.5 + 0.1 }]
        // Each micro-batch alone.
        var separate: [[Float]] = []
        for input in inputs {
            let (store, forward) = Self.twoLayers()
            let tape = Tape(parameters: store)
            tape.backward(from: forward(tape, input).1)
            separate.append(store.withGradients { Array($0) })
        }
        // Both forwards first, then the backwards in the other order (as 1F1B interleaves them).
        let (store, forward) = Self.twoLayers()
        let tapes = [Tape(parameters: store), Tape(parameters: store)]
        let losses = zip(tapes, inputs).map { forward($0, $1).1 }
        tapes[1].backward(from: losses[1])
        tapes[0].backward(from: losses[0], weightGradients: .deferred)
        tapes[0].backwardWeights()
        let together = store.withGradients { Array($0) }
        for i in together.indices {
            #expect(abs(together[i] - (separate[0][i] + separate[1][i])) < 1e-5, "element \(i)")
        }
    }
}

@Suite struct TapeStorageTests {
    /// The address of a tensor's first element.
    static func address(_ tensor: Tensor) -> Int {
        tensor.scalars.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) }
    }

    @Test func aStepAfterResetWritesIntoTheLastStepsStorage() {
        let store = ParameterStore()
        let weight = store.register(name: "w", shape: [64, 32], isDecayed: true)
        let input = Tensor(repeating: 0.5, shape: [32, 32])
        let tape = Tape(parameters: store)
        var addresses: [Int] = []
        var outputs: [[Float]] = []
        for _ in 0..<2 {
            tape.reset()
            let y = tape.linear(tape.constant(input), weight: weight, bias: nil, relu: true)
            addresses.append(Self.address(y.value))
            outputs.append(y.value.scalars.map { $0 })   // a copy: holding the array would keep it from reuse
            tape.backward(from: tape.sum(y))
        }
        #expect(addresses[1] == addresses[0])
        #expect(outputs[1] == outputs[0])
    }

    @Test func storageStillHeldElsewhereIsNotOverwritten() {
        let store = ParameterStore()
        let weight = store.register(name: "w", shape: [64, 32], isDecayed: true)
        store.withParameters { $0.update(repeating: 0.25) }
        let tape = Tape(parameters: store)
        let kept = tape.linear(tape.constant(Tensor(repeating: 1, shape: [32, 32])), weight: weight, bias: nil).value
        tape.reset()
        _ = tape.linear(tape.constant(Tensor(repeating: -1, shape: [32, 32])), weight: weight, bias: nil)
        // 32 inputs × 0.25: the first output is untouched by the second step.
        #expect(kept.scalars.allSatisfy { $0 == 8 })
    }
}
