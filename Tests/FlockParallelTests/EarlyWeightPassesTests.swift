import Testing
@testable import FlockParallel

/// Deferred weight-gradient passes fill a stage's wait for a receive, in schedule order,
/// and change nothing but timing.
@Suite struct EarlyWeightPassesTests {
    /// ZB-H1 at S = 2, M = 4, stage 0: F0 SEND F1 SEND RECV_B0 B0 F2 SEND RECV_B1 B1 W0 F3
    /// SEND RECV_B2 B2 W1 W2 RECV_B3 B3 W3.
    let actions = try! PipelineSchedule.zeroBubbleH1(stages: 2, microBatches: 4).actions[0]

    func index(of action: PipelineAction) -> Int { actions.firstIndex(of: action)! }
    func gradientReceive(_ m: Int) -> Int { index(of: .receive(.gradient, microBatch: m, from: 1)) }
    func weight(_ m: Int) -> Int { index(of: .backwardWeight(microBatch: m)) }

    @Test func theScheduleDefersWeightPassesPastLaterReceives() {
        // What the tests below rely on.
        #expect(actions.map(\.description) == ["F0", "SEND_F0→1", "F1", "SEND_F1→1", "RECV_B0←1", "B0", "F2", "SEND_F2→1",
                                               "RECV_B1←1", "B1", "W0", "F3", "SEND_F3→1", "RECV_B2←1", "B2", "W1", "W2",
                                               "RECV_B3←1", "B3", "W3"])
    }

    @Test func onlyAWeightPassWhoseInputGradientRanMayFillAReceive() {
        let passes = EarlyWeightPasses(actions: actions)
        #expect(passes.next(at: gradientReceive(0)) == nil)  // no B has run
        #expect(passes.next(at: gradientReceive(1)) == weight(0))  // B0 has, W0 waits behind B1
    }

    @Test func weightPassesRunInScheduleOrderAndAreSkippedInTheirPlace() {
        var passes = EarlyWeightPasses(actions: actions)
        passes.didRun(weight(0))  // ahead of its place, at RECV_B1
        #expect(passes.hasRun(weight(0)) && !passes.hasRun(weight(1)))
        #expect(passes.next(at: gradientReceive(1)) == nil)  // W1 needs B1, still ahead
        #expect(passes.next(at: gradientReceive(2)) == weight(1))
        passes.didRun(weight(1))
        passes.didRun(weight(2))
        #expect(passes.next(at: gradientReceive(3)) == nil)  // W3 needs B3
        passes.didRun(weight(3))
        #expect(passes.hasRun(weight(3)) && passes.next(at: gradientReceive(3)) == nil)
        // Only W passes are ever reported as run.
        #expect(!passes.hasRun(index(of: .backwardInput(microBatch: 0))))
    }

    @Test func schedulesWithoutSplitBackwardHaveNothingToMove() throws {
        let oneForwardOneBackward = try PipelineSchedule.oneForwardOneBackward(stages: 2, microBatches: 4).actions[0]
        let passes = EarlyWeightPasses(actions: oneForwardOneBackward)
        for index in oneForwardOneBackward.indices { #expect(passes.next(at: index) == nil && !passes.hasRun(index)) }
    }

    /// The first stage finishes its narrow layer long before the wide last stage sends a
    /// gradient back: it runs its deferred W passes while it waits, and the step still
    /// computes exactly what the whole model does.
    @Test func aStageWaitingForGradientsRunsDeferredWeightPassesAndComputesTheSame() throws {
        let architecture = ShardedModelFixture.Architecture.heavyLastStage
        let reference = try ShardedModelFixture.reference(rows: 64, architecture: architecture)
        let results = try ShardedModelFixture.shardedStep(stages: 2, world: 2, schedule: .zeroBubbleH1, microBatches: 8,
                                                          rows: 64, partitioning: .boundaries([1]), architecture: architecture)
        #expect(results[0].earlyWeightPasses > 0)
        let gradients = ShardedModelFixture.assembleGradients(results, like: reference.model)
        for slot in reference.model.parameters.slots {
            #expect(ShardedModelFixture.close(gradients[slot.name]!, reference.model.parameters.gradient(of: slot).scalars),
                    "gradient of \(slot.name)")
        }
        // W passes keep their order, so every gradient is bit for bit what the schedule run
        // as planned (no W moved) gives.
        let planned = try ShardedModelFixture.shardedStep(stages: 2, world: 2, schedule: .zeroBubbleH1, microBatches: 8,
                                                          rows: 64, partitioning: .boundaries([1]), architecture: architecture,
                                                          fillsWaitsWithWeightPasses: false)
        #expect(planned.allSatisfy { $0.earlyWeightPasses == 0 })
        for (again, result) in zip(planned, results) {
            #expect(again.tensors.map(\.gradients) == result.tensors.map(\.gradients))
        }
    }
}
