/// Runs a model forward and backward on one rank's micro-batches, on one tape that is
/// reset per micro-batch (its storage is kept).
public final class MicroBatchRunner {
    public let tape: Tape

    public init(parameters: ParameterStore) {
        tape = Tape(parameters: parameters)
    }

    /// Forward in training mode and backward seeded with `batch.gradientScale`; parameter
    /// gradients accumulate in the store. `sumAcrossDataGroup` is handed to the layers
    /// (synchronized batch normalization).
    public func forwardBackward(_ batch: MicroBatch, model: Model, loss: Loss, generator: inout RandomGenerator,
                                sumAcrossDataGroup: ((inout [Double]) -> Void)? = nil) -> MicroBatchOutcome {
        tape.reset()
        var context = ForwardContext(tape: tape, isTraining: true, generator: generator, sumAcrossDataGroup: sumAcrossDataGroup)
        let output = model.forward(tape.constant(batch.features), context: &context)
        generator = context.generator
        let objective = loss(output, target: batch.targets)
        tape.backward(from: objective, seed: batch.gradientScale)
        return MicroBatchOutcome(loss: objective.value.scalar, outputs: output.value, targets: batch.targets)
    }

    /// Forward in inference mode, recording nothing for backward.
    public func evaluate(features: Tensor, targets: Tensor, model: Model, loss: Loss) -> MicroBatchOutcome {
        tape.reset()
        // Inference draws no random numbers; the generator is a placeholder.
        var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
        let output = model.forward(tape.constant(features), context: &context)
        let objective = loss(output, target: targets)
        defer { tape.reset() }
        return MicroBatchOutcome(loss: objective.value.scalar, outputs: output.value, targets: targets)
    }
}
