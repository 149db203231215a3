import FlockNN
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// What every loss of a graph is checked against before training (its own terms and each
/// phase's), and a term whose target is one of several named inputs.
@Suite struct GraphLossFitTests {
    /// The digits' 64 pixels as two inputs of 32: the top half rebuilds the bottom half.
    static func halves(_ overrides: [String] = []) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 2
            epochs: 1
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 64}
            model:
              inputs: [{name: top, shape: [32]}, {name: bottom, shape: [32]}]
              nodes:
                - {name: guess, inputs: [top], layers: [{type: dense, units: 16, activation: tanh}, {type: dense, units: 32}]}
                - {name: digit, inputs: [top, bottom], op: concatenate, layers: [{type: dense, units: 10}]}
              outputs: [guess, digit]
            loss: {terms: [{name: mse, output: guess, target: bottom}]}
            """, overrides: overrides, baseDirectory: "/")
    }

    @Test func aTermOnOneOfSeveralInputsComparesWithThatInputsColumns() throws {
        let trainer = try Trainer(config: try Self.halves())
        _ = try trainer.fit()
        let validation = try trainer.data.validation.batch(Array(0..<trainer.data.validation.count))
        let reported = try trainer.evaluateValidation().metrics["val_loss"]!
        // By hand: the guess node on the top 32 columns against the bottom 32.
        let model = trainer.model, rows = validation.features.shape[0]
        let tape = Tape(parameters: model.parameters)
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        let guess = model.forwardOutputs(tape.constant(validation.features), context: &context)["guess"]!.value.scalars
        var squared = 0.0
        for row in 0..<rows {
            for column in 0..<32 {
                let error = Double(guess[row * 32 + column]) - Double(validation.features.scalars[row * 64 + 32 + column])
                squared += error * error
            }
        }
        #expect(abs(reported - squared / Double(rows * 32)) < 1e-5 * reported, "reported \(reported), by hand \(squared / Double(rows * 32))")
    }

    @Test func everyLossOfAGraphIsCheckedAgainstTheModelWithItsClassWeights() throws {
        func message(_ overrides: [String]) -> String {
            do { _ = try Trainer(config: try Self.halves(overrides)); return "no error" } catch { return "\(error)" }
        }
        #expect(message(["loss={name: mse, output: guess, target: top}"]) == "no error")
        #expect(message(["loss={name: mse, output: digit, target: bottom}"])
                == "loss.output: loss 'mse' compares output 'digit' (10 values per sample) with 32 bottom per sample")
        #expect(message(["loss={name: cross_entropy, output: digit, class_weights: [1, 2]}"])
                == "loss.class_weights: expected 10 weights (one per class), got 2")
        #expect(message(["phases=[{name: a, parameters: [guess], loss: {name: mse, output: digit, target: top}}]"])
                == "phases[0].loss.output: loss 'mse' compares output 'digit' (10 values per sample) with 32 top per sample")
        #expect(message(["loss={name: cross_entropy, output: digit}", "phases=[{name: a, parameters: [guess]}, {name: b, parameters: [digit], loss: {terms: [{name: mse, output: guess, target: bottom}, {name: cross_entropy, output: digit, class_weights: [1]}]}}]"])
                == "phases[1].loss[1].class_weights: expected 10 weights (one per class), got 1")
    }
}
