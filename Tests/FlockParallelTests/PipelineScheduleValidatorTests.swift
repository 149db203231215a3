import Testing
@testable import FlockParallel

/// Hand-written schedules, each broken one way, and the error the validator must name.
@Suite struct PipelineScheduleValidatorTests {
    typealias A = PipelineAction

    /// GPipe at S = 2, M = 2, written out by hand; valid.
    static let stage0: [A] = [
        .forward(microBatch: 0), .send(.activation, microBatch: 0, to: 1),
        .forward(microBatch: 1), .send(.activation, microBatch: 1, to: 1),
        .receive(.gradient, microBatch: 0, from: 1), .backward(microBatch: 0),
        .receive(.gradient, microBatch: 1, from: 1), .backward(microBatch: 1),
    ]
    static let stage1: [A] = [
        .receive(.activation, microBatch: 0, from: 0), .forward(microBatch: 0),
        .receive(.activation, microBatch: 1, from: 0), .forward(microBatch: 1),
        .backward(microBatch: 0), .send(.gradient, microBatch: 0, to: 0),
        .backward(microBatch: 1), .send(.gradient, microBatch: 1, to: 0),
    ]

    func schedule(_ stage0: [A] = stage0, _ stage1: [A] = stage1) throws -> PipelineSchedule {
        try PipelineSchedule(stages: 2, microBatches: 2, actions: [stage0, stage1])
    }

    func failure(_ schedule: PipelineSchedule, activationBound: Int? = nil) -> PipelineScheduleError? {
        do {
            try PipelineScheduleValidator.validate(schedule, activationBound: activationBound)
            return nil
        } catch let error as PipelineScheduleError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func handWrittenScheduleIsValid() throws {
        #expect(failure(try schedule(), activationBound: 2) == nil)
    }

    @Test func swappedReceivesBreakMessageOrder() throws {
        var broken = Self.stage1
        broken.swapAt(0, 2)  // stage 1 now expects micro-batch 1 first; stage 0 sends 0 first
        let error = try #require(failure(try schedule(Self.stage0, broken)))
        #expect(error.kind == .mismatchedOrder)
        #expect((error.stage, error.actionIndex, error.microBatch) == (1, 0, 1))
        #expect(error.description.contains("stage 1, action 0, micro-batch 1: 1RECV_F1←0: receive 1 of activations from stage 0 is for micro-batch 1 but send 1 (action 1 on stage 0) carries micro-batch 0"))
    }

    @Test func deletedSendLeavesReceiveUnmatched() throws {
        var broken = Self.stage0
        broken.remove(at: 3)  // SEND_F1→1
        let error = try #require(failure(try schedule(broken, Self.stage1)))
        #expect(error.kind == .unmatched)
        #expect((error.stage, error.actionIndex, error.microBatch) == (1, 2, 1))
        #expect(error.description.contains("no matching send: stage 0 sends only 1 activations to stage 1"))
    }

    @Test func backwardBeforeForwardIsRejected() throws {
        var broken = Self.stage1
        broken.swapAt(1, 4)  // BW0 where F0 was
        let error = try #require(failure(try schedule(Self.stage0, broken)))
        #expect(error.kind == .outOfOrder)
        #expect((error.stage, error.actionIndex, error.microBatch) == (1, 1, 0))
        #expect(error.message == "1BW0: backward before the forward")
    }

    @Test func weightGradientBeforeInputGradientIsRejected() throws {
        let split = try PipelineSchedule(stages: 1, microBatches: 1, actions: [[
            .forward(microBatch: 0), .backwardWeight(microBatch: 0), .backwardInput(microBatch: 0),
        ]])
        let error = try #require(failure(split))
        #expect(error.kind == .outOfOrder)
        #expect((error.stage, error.actionIndex, error.microBatch) == (0, 1, 0))
        #expect(error.message == "0W0: weight gradient before the input gradient")
    }

    @Test func backwardOnStageZeroBeforeItsGradientArrivesIsRejected() throws {
        var broken = Self.stage0
        broken.swapAt(4, 5)  // BW0 before RECV_B0←1
        let error = try #require(failure(try schedule(broken, Self.stage1)))
        #expect(error.kind == .inputNotReceived)
        #expect((error.stage, error.actionIndex, error.microBatch) == (0, 4, 0))
        #expect(error.message == "0BW0: backward before its gradient was received from stage 1")
    }

    @Test func forwardBeforeItsActivationArrivesIsRejected() throws {
        var broken = Self.stage1
        broken.swapAt(0, 1)
        let error = try #require(failure(try schedule(Self.stage0, broken)))
        #expect(error.kind == .inputNotReceived)
        #expect((error.stage, error.actionIndex, error.microBatch) == (1, 0, 0))
    }

    /// Naive 1F1B at S = 2, M = 2: stage 0 sends F1 while stage 1 sends B0; with blocking
    /// (rendezvous) sends each waits for the other's receive forever.
    @Test func bothStagesSendingFirstDeadlock() throws {
        let stage1: [A] = [
            .receive(.activation, microBatch: 0, from: 0), .forward(microBatch: 0), .backward(microBatch: 0),
            .send(.gradient, microBatch: 0, to: 0),
            .receive(.activation, microBatch: 1, from: 0), .forward(microBatch: 1), .backward(microBatch: 1),
            .send(.gradient, microBatch: 1, to: 0),
        ]
        let error = try #require(failure(try schedule(Self.stage0, stage1)))
        #expect(error.kind == .deadlock)
        #expect(error.cycle == [
            .init(stage: 0, actionIndex: 3, action: .send(.activation, microBatch: 1, to: 1)),
            .init(stage: 1, actionIndex: 3, action: .send(.gradient, microBatch: 0, to: 0)),
        ])
        #expect(error.description.contains(
            "stage 0 waits at action 3 (0SEND_F1→1) for stage 1; stage 1 waits at action 3 (1SEND_B0→0) for stage 0"))
        #expect(error.description.contains("   3 | SEND_F1→1* | SEND_B0→0*"))
        // The simulator refuses it too, rather than predicting a time for a run that hangs.
        #expect(throws: PipelineScheduleError.self) { try PipelineSimulator.simulate(try schedule(Self.stage0, stage1)) }
    }

    @Test func receivesWaitingOnEachOtherDeadlock() throws {
        // Stage 0 waits for a gradient before sending the activation stage 1 waits for; stage 2 waits behind them.
        let schedule = try PipelineSchedule(stages: 3, microBatches: 1, actions: [
            [.forward(microBatch: 0), .receive(.gradient, microBatch: 0, from: 1),
             .send(.activation, microBatch: 0, to: 1), .backward(microBatch: 0)],
            [.receive(.activation, microBatch: 0, from: 0), .forward(microBatch: 0),
             .send(.activation, microBatch: 0, to: 2), .receive(.gradient, microBatch: 0, from: 2),
             .backward(microBatch: 0), .send(.gradient, microBatch: 0, to: 0)],
            [.receive(.activation, microBatch: 0, from: 1), .forward(microBatch: 0), .backward(microBatch: 0),
             .send(.gradient, microBatch: 0, to: 1)],
        ])
        let error = try #require(failure(schedule))
        #expect(error.kind == .deadlock)
        #expect(error.cycle.map(\.stage) == [0, 1])
        #expect(error.cycle.map(\.actionIndex) == [1, 0])
    }

    @Test func missingAndDuplicatePassesAreNamed() throws {
        let noWeight = try PipelineSchedule(stages: 1, microBatches: 2, actions: [[
            .forward(microBatch: 0), .backwardInput(microBatch: 0), .backwardWeight(microBatch: 0),
            .forward(microBatch: 1), .backwardInput(microBatch: 1),
        ]])
        let missing = try #require(failure(noWeight))
        #expect(missing.kind == .missing)
        #expect((missing.stage, missing.actionIndex, missing.microBatch) == (0, nil, 1))
        #expect(missing.message == "no weight gradient (W) for micro-batch 1")

        let twice = try PipelineSchedule(stages: 1, microBatches: 1, actions: [[
            .forward(microBatch: 0), .forward(microBatch: 0), .backward(microBatch: 0),
        ]])
        let duplicate = try #require(failure(twice))
        #expect(duplicate.kind == .duplicate)
        #expect((duplicate.stage, duplicate.actionIndex) == (0, 1))
        #expect(duplicate.message == "0F0: forward already at action 0")

        let mixed = try PipelineSchedule(stages: 1, microBatches: 1, actions: [[
            .forward(microBatch: 0), .backwardInput(microBatch: 0), .backward(microBatch: 0),
        ]])
        #expect(failure(mixed)?.kind == .invalidAction)
    }

    @Test func outOfRangeMicroBatchesAndPeersAreNamed() throws {
        let farPeer = try schedule([.forward(microBatch: 0), .send(.activation, microBatch: 0, to: 0)] + Self.stage0.dropFirst(2),
                                   Self.stage1)
        let peer = try #require(failure(farPeer))
        #expect(peer.kind == .invalidAction)
        #expect((peer.stage, peer.actionIndex) == (0, 1))
        #expect(peer.message == "0SEND_F0→0: this transfer's peer must be stage 1")

        let tooFar = try schedule(Self.stage0, Self.stage1 + [.forward(microBatch: 2)])
        #expect(failure(tooFar)?.message == "1F2: micro-batch outside 0..<2")
    }

    @Test func activationBoundIsEnforced() throws {
        let gpipe = try PipelineSchedule.gpipe(stages: 2, microBatches: 4)
        let error = try #require(failure(gpipe, activationBound: 2))
        #expect(error.kind == .activationBoundExceeded)
        // Stage 0: F0, SEND_F0→1, F1, SEND_F1→1, F2 ← the third micro-batch held.
        #expect((error.stage, error.actionIndex, error.microBatch) == (0, 4, 2))
        #expect(failure(gpipe, activationBound: 4) == nil)
    }
}
