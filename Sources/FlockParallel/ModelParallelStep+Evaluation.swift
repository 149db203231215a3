import FlockNN
import FlockTensor

/// Inference through the pipeline.
extension ModelParallelStep {
    /// Forward in inference mode along the stages; every stage returns the last stage's
    /// loss and outputs.
    public func evaluate(features: Tensor, targets: Tensor, context: StepContext) throws -> MicroBatchOutcome {
        guard let shard else { preconditionFailure("ModelParallelStep used before prepare") }
        let (model, loss, residency) = (context.model, context.loss, context.environment.parameterResidency)
        let tape = evaluationTape ?? Tape(parameters: shard.parameters)
        tape.recordsBackward = false
        evaluationTape = tape
        tape.reset()
        defer { tape.reset() }
        let rows = features.shape.first ?? 0
        let input = stage == 0
            ? features
            : try link.receive(.evaluation, microBatch: 0, from: stage - 1, expectedShape: [rows] + shard.inputShape)
        // Inference draws no random numbers; the generator is a placeholder.
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        context.sequencePadding = model.paddingMask(forInput: features)
        context.parameterResidency = residency
        let output = shard.forward(tape.constant(input), context: &context)
        try shard.tensorGroup?.rethrow()
        guard isLastStage else {
            for send in try link.send(output.value, .evaluation, microBatch: 0, to: stage + 1) { try send.wait() }
            return try shareOutcome(nil, of: MicroBatch(features: features, targets: targets, gradientScale: 0), model: model)
        }
        let objective = loss(output, target: targets, features: features)
        let outcome = MicroBatchOutcome(loss: objective.value.scalar, outputs: output.value, targets: targets)
        return try shareOutcome(outcome, of: MicroBatch(features: features, targets: targets, gradientScale: 0), model: model)
    }
}
