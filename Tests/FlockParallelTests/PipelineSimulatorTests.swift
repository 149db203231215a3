import Testing
@testable import FlockParallel

/// The simulator's predictions against closed forms worked out by hand.
@Suite struct PipelineSimulatorTests {
    /// F = B = W = 1, so a full backward costs 2 (backward = 2 × forward).
    static let unit = PipelineCosts()

    @Test func timelineOfTheSmallestPipelineByHand() throws {
        let run = try PipelineSimulator.simulate(try PipelineSchedule.gpipe(stages: 2, microBatches: 1), costs: Self.unit)
        // Stage 0: F0 [0,1), waits for stage 1's F0 [1,2) and BW0 [2,4), then BW0 [4,6).
        #expect(run.timelines[0] == [.init(action: .forward(microBatch: 0), start: 0, end: 1),
                                     .init(action: .backward(microBatch: 0), start: 4, end: 6)])
        #expect(run.timelines[1] == [.init(action: .forward(microBatch: 0), start: 1, end: 2),
                                     .init(action: .backward(microBatch: 0), start: 2, end: 4)])
        #expect(run.totalTime == 6)
        #expect(run.busyTime == [3, 3])
        #expect(run.bubbleFraction == 0.5)  // 1 − 6 / (2 × 6)
    }

    @Test func communicationCostDelaysEachHop() throws {
        let costs = PipelineCosts(communication: 0.5)
        let run = try PipelineSimulator.simulate(try PipelineSchedule.gpipe(stages: 2, microBatches: 1), costs: costs)
        // F0 [0,1) → +0.5 → F0 [1.5,2.5), BW0 [2.5,4.5) → +0.5 → BW0 [5,7).
        #expect(run.timelines[1].map(\.start) == [1.5, 2.5])
        #expect(run.timelines[0].map(\.start) == [0, 5])
        #expect(run.totalTime == 7)
    }

    @Test func eachStageRunsAtItsOwnCosts() throws {
        // Stage 0's B is half price (no input gradient for its first layer); stage 1's F a
        // little dearer (the loss).
        let first = PipelineCosts(forward: 1, backwardInput: 0.5, backwardWeight: 1)
        let last = PipelineCosts(forward: 1.25, backwardInput: 1, backwardWeight: 1)
        let run = try PipelineSimulator.simulate(try PipelineSchedule.gpipe(stages: 2, microBatches: 1), stageCosts: [first, last])
        // F0 [0,1) → F0 [1,2.25), BW0 [2.25,4.25) → BW0 [4.25,5.75).
        #expect(run.timelines[1].map(\.start) == [1, 2.25] && run.timelines[0].map(\.start) == [0, 4.25])
        #expect(run.totalTime == 5.75 && run.busyTime == [2.5, 3.25])
        let zeroBubble = try PipelineSchedule.zeroBubbleH1(stages: 3, microBatches: 5)
        #expect(try PipelineSimulator.simulate(zeroBubble, stageCosts: Array(repeating: first, count: 3))
                == PipelineSimulator.simulate(zeroBubble, costs: first))
    }

    @Test(arguments: [PipelineCosts(), PipelineCosts(forward: 1, backwardInput: 0.5, backwardWeight: 0.5),
                      PipelineCosts(forward: 2, backwardInput: 3, backwardWeight: 1)])
    func gpipeAndOneForwardOneBackwardBubbleIsSMinusOneOverMPlusSMinusOne(costs: PipelineCosts) throws {
        for stages in 1...6 {
            for microBatches in 1...10 {
                let theory = Double(stages - 1) / Double(microBatches + stages - 1)
                // Every stage is busy M(F + B + W); the step lasts (M + S − 1)(F + B + W).
                let perMicroBatch = costs.forward + costs.backward
                for schedule in [try PipelineSchedule.gpipe(stages: stages, microBatches: microBatches),
                                 try PipelineSchedule.oneForwardOneBackward(stages: stages, microBatches: microBatches)] {
                    let run = try PipelineSimulator.simulate(schedule, costs: costs)
                    #expect(abs(run.bubbleFraction - theory) < 1e-12, "\(schedule.name) S=\(stages) M=\(microBatches)")
                    #expect(abs(run.totalTime - Double(microBatches + stages - 1) * perMicroBatch) < 1e-9)
                }
            }
        }
    }

    @Test func zeroBubbleH1CutsIdleTimeToAThirdWhenMAtLeastS() throws {
        for stages in 2...6 {
            for microBatches in stages...16 {
                let zb = try PipelineSimulator.simulate(
                    try PipelineSchedule.zeroBubbleH1(stages: stages, microBatches: microBatches), costs: Self.unit)
                let oneFOneB = try PipelineSimulator.simulate(
                    try PipelineSchedule.oneForwardOneBackward(stages: stages, microBatches: microBatches), costs: Self.unit)
                // Qi et al.: idle (S−1)(F+B−W) = S−1 per stage instead of 1F1B's 3(S−1).
                #expect(zb.totalTime == Double(3 * microBatches + stages - 1), "S=\(stages) M=\(microBatches)")
                let theory = Double(stages - 1) / Double(3 * microBatches + stages - 1)
                #expect(abs(zb.bubbleFraction - theory) < 1e-12)
                #expect(zb.bubbleFraction <= oneFOneB.bubbleFraction / 2, "S=\(stages) M=\(microBatches)")
                // The deferred W passes fill the cool-down: no stage idles after its first B.
                for timeline in zb.timelines {
                    let firstB = timeline.firstIndex { $0.action == .backwardInput(microBatch: 0) }!
                    for (before, after) in zip(timeline[firstB...], timeline[(firstB + 1)...]) {
                        #expect(before.end == after.start, "S=\(stages) M=\(microBatches) idle before \(after.action)")
                    }
                }
            }
        }
    }

    @Test func zeroBubbleH1NeverLosesToOneForwardOneBackward() throws {
        for stages in 1...6 {
            for microBatches in 1...10 {  // includes M < S, where the half bound does not hold
                let zb = try PipelineSimulator.simulate(try PipelineSchedule.zeroBubbleH1(stages: stages, microBatches: microBatches))
                let oneFOneB = try PipelineSimulator.simulate(
                    try PipelineSchedule.oneForwardOneBackward(stages: stages, microBatches: microBatches))
                #expect(zb.totalTime <= oneFOneB.totalTime)
                #expect(zb.bubbleFraction <= oneFOneB.bubbleFraction + 1e-12)
            }
        }
    }

    @Test func peakActivationsStayBoundedForOneForwardOneBackwardButGrowForGPipe() throws {
        for stages in 1...6 {
            for microBatches in 1...10 {
                let gpipe = try PipelineSimulator.simulate(try PipelineSchedule.gpipe(stages: stages, microBatches: microBatches))
                let oneFOneB = try PipelineSimulator.simulate(
                    try PipelineSchedule.oneForwardOneBackward(stages: stages, microBatches: microBatches))
                let zb = try PipelineSimulator.simulate(try PipelineSchedule.zeroBubbleH1(stages: stages, microBatches: microBatches))
                #expect(gpipe.peakInFlight == Array(repeating: microBatches, count: stages))
                // Stage s holds its S−1−s warm-up forwards plus the one in flight.
                let oneFOneBPeaks = (0..<stages).map { min(stages - $0, microBatches) }
                #expect(oneFOneB.peakInFlight == oneFOneBPeaks)
                #expect(oneFOneB.peakInFlight.allSatisfy { $0 <= stages })
                // ZB-H1 keeps 1F1B's bound on what B needs; W's smaller state waits up to S−1−s longer.
                for stage in 0..<stages {
                    #expect(zb.peakInFlight[stage] <= oneFOneBPeaks[stage])
                    #expect(zb.peakAwaitingWeightGradient[stage] <= min(2 * stages - 1 - stage, microBatches))
                }
            }
        }
    }

    @Test func invalidCostsAreRejected() throws {
        let schedule = try PipelineSchedule.gpipe(stages: 2, microBatches: 2)
        #expect(throws: PipelineScheduleError.self) {
            try PipelineSimulator.simulate(schedule, costs: PipelineCosts(forward: 0))
        }
        #expect(throws: PipelineScheduleError.self) {
            try PipelineSimulator.simulate(schedule, costs: PipelineCosts(communication: -1))
        }
    }
}

/// Where the other stages stand when one fails: the failure report's grid.
@Suite struct PipelineFailurePositionTests {
    @Test func aStageThatStopsHoldsUpItsNeighboursWhereTheyNeedIt() throws {
        let schedule = try PipelineSchedule.oneForwardOneBackward(stages: 3, microBatches: 4)
        let middleForward = try #require(schedule.actions[1].firstIndex(of: .forward(microBatch: 0)))
        let positions = schedule.positions(whenStage: 1, stopsAt: middleForward)
        #expect(positions[1] == middleForward)
        // Stage 2 never gets micro-batch 0's activation.
        #expect(positions[2] == 0 && schedule.actions[2][0] == .receive(.activation, microBatch: 0, from: 1))
        // Stage 0 runs its two warm-up forwards and the steady state's first forward (sends
        // do not wait), then waits for micro-batch 0's gradient.
        #expect(schedule.actions[0][positions[0]] == .receive(.gradient, microBatch: 0, from: 1))
        #expect(schedule.actions[0][..<positions[0]].filter { if case .forward = $0 { return true } else { return false } }.count == 3)
        let grid = schedule.failureGrid(stage: 1, index: middleForward)
        #expect(grid.contains("RECV_F0←1<") && grid.contains("F0*") && grid.contains("RECV_B0←1<"), "\(grid)")
    }

    @Test func stagesThatFinishedBeforeTheFailureAreNotMarked() throws {
        let schedule = try PipelineSchedule.gpipe(stages: 2, microBatches: 2)
        let last = schedule.actions[0].count - 1   // stage 0's last backward: nobody waits on it
        let positions = schedule.positions(whenStage: 0, stopsAt: last)
        #expect(positions == [last, schedule.actions[1].count])
        #expect(!schedule.failureGrid(stage: 0, index: last).contains("<"))
    }
}
