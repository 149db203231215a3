/// The built-in train step: the model's forward in training mode, its loss, and
/// backward seeded with the micro-batch's weight. Every config trains with it (pipeline
/// and tensor-parallel layouts with ``ModelParallelStep``).
public final class ModelStep: TrainStep {
    public init() {}

    public func forwardBackward(_ batch: MicroBatch, phase: StepPhase, context: inout StepContext) throws -> MicroBatchOutcome {
        var forward = context.beginForward(isTraining: true, batch: batch)
        let output = context.model.forward(context.tape.constant(batch.features), context: &forward)
        let objective = context.loss(output, target: batch.targets, features: batch.features)
        return context.backward(from: objective, output: output, batch: batch, forward: forward)
    }
}
