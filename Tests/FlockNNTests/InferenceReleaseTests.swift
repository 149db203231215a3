import FlockTensor
import Testing
@testable import FlockNN

/// Inference on a tape that records no backward gives the same outputs while holding
/// about one layer's activations at a time.
@Suite struct InferenceReleaseTests {
    @Test func aChainHoldsOnlyItsNewestOutputInInference() throws {
        let model = try Model([.dense(units: 256, activation: .relu), .dense(units: 256, activation: .relu),
                               .residual([.dense(units: 256, activation: .relu), .dense(units: 256)]),
                               .dense(units: 256, activation: .tanh), .dense(units: 10)],
                              inputShape: [64], seed: 4)
        let input = Tensor(shape: [128, 64], scalars: (0..<(128 * 64)).map { Float($0 % 17) / 17 - 0.5 })
        func run(recording: Bool) -> (output: [Float], held: Int) {
            let tape = Tape(parameters: model.parameters)
            tape.recordsBackward = recording
            var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
            let output = model.forward(tape.constant(input), context: &context)
            return (output.value.scalars, tape.heldValueElements)
        }
        let recorded = run(recording: true), released = run(recording: false)
        #expect(released.output == recorded.output)
        // Recording keeps every layer's (128, 256) activations; inference keeps the input
        // and the output.
        #expect(recorded.held >= 6 * 128 * 256)
        #expect(released.held <= 128 * 64 + 128 * 10 + 128 * 256, "\(released.held) elements held")
    }
}
