import FlockComm
import FlockNN
import FlockParallel
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// A user's own step: the model's loss plus `weight` · mean(h²) on the first layer's
/// output h (an activity penalty on an intermediate output, which a layer list cannot say).
final class HiddenActivityPenaltyStep: TrainStep {
    let weight: Float

    init(weight: Float) { self.weight = weight }

    func forwardBackward(_ batch: MicroBatch, phase: StepPhase, context: inout StepContext) throws -> MicroBatchOutcome {
        let tape = context.tape
        var forward = context.beginForward(isTraining: true)
        let layers = context.model.root.layers
        let hidden = layers[0].forward(tape.constant(batch.features), context: &forward)
        let output = layers[1...].reduce(hidden) { $1.forward($0, context: &forward) }
        let objective = tape.add(context.loss(output, target: batch.targets),
                                 tape.scale(tape.mean(tape.square(hidden)), by: weight))
        return context.backward(from: objective, output: output, batch: batch, forward: forward)
    }
}

/// A step in two phases: the first updates the first layer alone, the second the last
/// layer alone, each with its own SGD.
final class TwoPhaseStep: TrainStep {
    var phases: [StepPhase] {
        [StepPhase(name: "first", parameterPrefixes: ["layers.0."], optimizer: SGD()),
         StepPhase(name: "second", parameterPrefixes: ["layers.1."], optimizer: SGD())]
    }

    func forwardBackward(_ batch: MicroBatch, phase: StepPhase, context: inout StepContext) throws -> MicroBatchOutcome {
        try ModelStep().forwardBackward(batch, phase: phase, context: &context)
    }
}

/// The built-in step, remembering each parameter's gradient right after backward (before
/// the gradient chain sees it).
final class GradientRecordingStep: TrainStep {
    var gradients: [String: [Float]] = [:]

    func forwardBackward(_ batch: MicroBatch, phase: StepPhase, context: inout StepContext) throws -> MicroBatchOutcome {
        let outcome = try ModelStep().forwardBackward(batch, phase: phase, context: &context)
        for slot in context.parameters.slots { gradients[slot.name] = context.parameters.gradient(of: slot).scalars }
        return outcome
    }
}

@Suite struct CustomTrainStepTests {
    static func trainer(_ data: TrainingData, step: StepParts, epochs: Int = 2) throws -> Trainer {
        let model = try Model([.dense(units: 24, activation: .relu), .dense(units: 10)],
                              inputShape: data.training.featureShape, seed: 5)
        var options = TrainingOptions()
        options.epochs = epochs
        options.batchSize = 64
        options.seed = 5
        options.learningRate = 0.01
        return try Trainer(model: model, data: data, loss: .crossEntropy(labelSmoothing: 0, classWeights: nil),
                           optimizer: Adam(), step: step, options: options)
    }

    /// Mean of h² over the first layer's outputs on `features`, with the trainer's weights.
    static func meanSquaredHidden(_ trainer: Trainer, features: Tensor) -> Double {
        let tape = Tape(parameters: trainer.model.parameters)
        var forward = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        let hidden = trainer.model.root.layers[0].forward(tape.constant(features), context: &forward).value.scalars
        return hidden.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(hidden.count)
    }

    @Test func aUserStepWithAnExtraLossTermTrainsAlikeOnOneAndTwoRanks() throws {
        let data = try LibraryTrainerTests.data()
        let plain = try Self.trainer(data, step: .singleRank())
        _ = try plain.fit()
        let single = try Self.trainer(data, step: .singleRank(HiddenActivityPenaltyStep(weight: 0.5)))
        let summary = try single.fit()
        let twoRanks = try LocalCommunicator.run(ranks: 2, deadline: 120) { communicator -> [Float] in
            let step = StepParts.dataParallel(layout: try ParallelLayout(world: communicator),
                                              step: HiddenActivityPenaltyStep(weight: 0.5))
            let trainer = try Self.trainer(data, step: step)
            _ = try trainer.fit()
            return trainer.model.parameters.snapshotParameters()
        }
        let one = single.model.parameters.snapshotParameters()
        #expect(DataParallelTests.relativeDifference(twoRanks[0], one) < 1e-5)
        #expect(twoRanks[0] == twoRanks[1])
        // The extra term is trained for: the hidden activity is well below the plain model's,
        // and the model still classifies.
        let features = try data.validation.batch(Array(0..<data.validation.count)).features
        let penalized = Self.meanSquaredHidden(single, features: features), unpenalized = Self.meanSquaredHidden(plain, features: features)
        #expect(penalized < 0.5 * unpenalized, "mean h² \(penalized) with the term, \(unpenalized) without")
        #expect(summary.final["val_accuracy"]! > 0.8)
    }

    @Test func eachPhaseUpdatesItsOwnGroupWithTheOtherPhasesUpdatesSeen() throws {
        let data = try LibraryTrainerTests.data()
        let trainer = try Self.trainer(data, step: .singleRank(TwoPhaseStep()))
        let store = trainer.parameters
        let start = store.snapshotParameters()
        let order = Array(0..<data.training.count)
        let batch = try data.training.batch(Array(order[0..<64]))
        var accumulator = trainer.makeAccumulator()
        #expect(try trainer.step(batches: 0..<1, order: order, learningRate: 0.1, accumulator: &accumulator))

        // The same step by hand: SGD on layers.0 from the gradient at the start, then SGD on
        // layers.1 from the gradient with the new layers.0.
        let reference = try Model([.dense(units: 24, activation: .relu), .dense(units: 10)],
                                  inputShape: data.training.featureShape, seed: 5)
        func gradients() -> [Float] {
            reference.parameters.zeroGradients()
            let tape = Tape(parameters: reference.parameters)
            var forward = ForwardContext(tape: tape, isTraining: true, generator: RandomGenerator(seed: 0))
            let output = reference.forward(tape.constant(batch.features), context: &forward)
            tape.backward(from: Loss.crossEntropy(labelSmoothing: 0, classWeights: nil)(output, target: batch.targets))
            return reference.parameters.withGradients { Array($0) }
        }
        func descend(_ prefix: String, along gradient: [Float]) {
            for slot in reference.parameters.slots where slot.name.hasPrefix(prefix) {
                reference.parameters.withParameter(slot) { p in
                    for i in 0..<p.count { p[i] -= 0.1 * gradient[slot.offset + i] }
                }
            }
        }
        descend("layers.0.", along: gradients())
        descend("layers.1.", along: gradients())
        let expected = reference.parameters.snapshotParameters(), trained = store.snapshotParameters()
        for slot in store.slots {
            let moved = trained[slot.range] != start[slot.range]
            #expect(moved, "\(slot.name) did not move")
            let worst = zip(trained[slot.range], expected[slot.range]).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-6, "\(slot.name) differs from the phase-by-phase update by \(worst)")
        }
        #expect(store.withGradients { $0.allSatisfy { $0 == 0 } }, "gradients are cleared after the step")
        #expect(trainer.optimizerState.isEmpty && trainer.phaseUpdates.map(\.update.optimizer.stepCount) == [1, 1])
    }

    @Test func backwardDoesNoGradientWorkForAFrozenLayer() throws {
        let data = try LibraryTrainerTests.data()
        let model = try Model([LayerConfig(Dense.Spec(units: 24, activation: .relu), trainable: false), .dense(units: 10)],
                              inputShape: data.training.featureShape, seed: 5)
        let recorder = GradientRecordingStep()
        let trainer = try Trainer(model: model, data: data, loss: .crossEntropy(labelSmoothing: 0, classWeights: nil),
                                  optimizer: Adam(), step: .singleRank(recorder))
        var accumulator = trainer.makeAccumulator()
        #expect(try trainer.step(batches: 0..<1, order: Array(0..<data.training.count), learningRate: 0.01, accumulator: &accumulator))
        #expect(recorder.gradients["layers.0.weight"]!.allSatisfy { $0 == 0 }, "the frozen weight's gradient was computed")
        #expect(recorder.gradients["layers.0.bias"]!.allSatisfy { $0 == 0 })
        #expect(recorder.gradients["layers.1.weight"]!.contains { $0 != 0 })
    }
}
