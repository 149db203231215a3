/// The built-in train step: the model's forward in training mode, its loss over its
/// named outputs (with the terms layers add), and
/// backward seeded with the micro-batch's weight. Every config trains with it (pipeline
/// and tensor-parallel layouts with ``ModelParallelStep``).
public final class ModelStep: TrainStep {
    /// One phase over every parameter by default; a config's `phases:` give several, each
    /// updating its own group with its own optimizer and loss.
    public let phases: [StepPhase]

    public init(phases: [StepPhase] = [.whole]) {
        precondition(!phases.isEmpty, "a step needs at least one phase")
        self.phases = phases
    }

    public func forwardBackward(_ batch: MicroBatch, phase: StepPhase, context: inout StepContext) throws -> MicroBatchOutcome {
        var forward = context.beginForward(isTraining: true, batch: batch)
        let (objective, output) = context.runModel(batch.features, targets: batch.targets, forward: &forward)
        return context.backward(from: objective, output: output, batch: batch, forward: forward)
    }
}
