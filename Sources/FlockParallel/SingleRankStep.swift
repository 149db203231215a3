/// The step on one rank: forward and backward over the micro-batches, nothing to
/// synchronize.
public final class SingleRankStep: StepStrategy {
    private var runner: MicroBatchRunner?

    public init() {}

    public var world: (any Communicator)? { nil }
    public var dataGroup: (any Communicator)? { nil }

    public func prepare(model: Model, configHash: UInt64) throws {
        _ = runner(for: model)
    }

    public func computeGradients(_ microBatches: [MicroBatch], model: Model, loss: Loss, step: Int,
                                 generator: inout RandomGenerator) throws -> [MicroBatchOutcome] {
        let runner = self.runner(for: model)
        return microBatches.filter { $0.sampleCount > 0 }.map {
            runner.forwardBackward($0, model: model, loss: loss, generator: &generator)
        }
    }

    public func evaluate(features: Tensor, targets: Tensor, model: Model, loss: Loss) throws -> MicroBatchOutcome {
        runner(for: model).evaluate(features: features, targets: targets, model: model, loss: loss)
    }

    public func synchronizeBuffers() throws {}

    public func synchronizeModelState() throws {}

    /// The runner of `model`'s store (a new one if this strategy is handed another model).
    private func runner(for model: Model) -> MicroBatchRunner {
        if let runner, runner.tape.parameters === model.parameters { return runner }
        let made = MicroBatchRunner(parameters: model.parameters)
        runner = made
        return made
    }
}
