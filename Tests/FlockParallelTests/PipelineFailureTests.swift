import FlockComm
import FlockTensor
import FlockTestSupport
import Testing
@testable import FlockParallel

/// A failing stage ends the step on every stage at once, and the error says where.
@Suite struct PipelineFailureTests {
    typealias Fixture = ShardedModelFixture

    /// Stage 0 sends a batch of another size than stage 1 expects (as ranks reading
    /// different data would): stage 1's receive rejects the header, and stage 0, waiting
    /// for a gradient that never comes, stops with it instead of at the deadline (were it
    /// to wait, its own timeout would be the first failure and fail the test).
    @Test(.hangLimit) func aMismatchedActivationNamesTheStageRankMicroBatchAndAction() throws {
        let error = #expect(throws: (any Error).self) {
            _ = try LocalCommunicator.run(ranks: 2, deadline: 30) { communicator -> Int in
                let layout = try ParallelLayout(world: communicator, pipelineStages: 2)
                let model = try Fixture.model()
                let step = ModelParallelStep(layout: layout, schedule: .oneForwardOneBackward, microBatches: 2)
                let parts = StepParts.modelParallel(step)
                try parts.prepare(model: model, configHash: 1)
                let rows = communicator.rank == 0 ? 9 : 8
                let (features, targets) = Fixture.batch(rows: rows)
                var generator = RandomGenerator(seed: 1)
                _ = try parts.computeGradients([MicroBatch(features: features, targets: targets, gradientScale: 1)],
                                               loss: Fixture.loss, step: 6, generator: &generator)
                return 0
            }
        }
        let failure = try #require(error as? PipelineStageError, "\(String(describing: error))")
        #expect(failure.stage == 1 && failure.rank == 1 && failure.step == 6 && failure.microBatch == 0)
        #expect(failure.action == "1RECV_F0←0")
        let text = failure.description
        #expect(text.contains("pipeline stage 1 (rank 1) failed at step 6, micro-batch 0, action 1RECV_F0←0"), "\(text)")
        #expect(text.contains("with shape [4, 5], got [5, 5]"), "\(text)")
        // The schedule grid marks the failing action.
        #expect(text.contains("RECV_F0←0*"), "\(text)")
    }
}
