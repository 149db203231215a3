import Testing
@testable import FlockParallel

/// The generators' schedules: accepted by the validator, shaped as each algorithm says, printable.
@Suite struct PipelineScheduleTests {
    typealias Generator = @Sendable (Int, Int) throws -> PipelineSchedule
    static let generators: [(name: String, make: Generator)] = [
        ("gpipe", { try PipelineSchedule.gpipe(stages: $0, microBatches: $1) }),
        ("1f1b", { try PipelineSchedule.oneForwardOneBackward(stages: $0, microBatches: $1) }),
        ("zb-h1", { try PipelineSchedule.zeroBubbleH1(stages: $0, microBatches: $1) }),
    ]

    @Test(arguments: 0..<3)
    func everyGeneratedScheduleIsValid(generator: Int) throws {
        let (name, make) = Self.generators[generator]
        for stages in 1...6 {
            for microBatches in 1...10 {  // includes M < S
                let schedule = try make(stages, microBatches)
                #expect(schedule.name == name)
                #expect(schedule.actions.count == stages)
                try PipelineScheduleValidator.validate(schedule, activationBound: schedule.activationBound)
            }
        }
    }

    @Test func oneForwardOneBackwardWarmsUpWithSMinusOneMinusSForwards() throws {
        let schedule = try PipelineSchedule.oneForwardOneBackward(stages: 4, microBatches: 6)
        for stage in 0..<4 {
            let compute = schedule.actions[stage].filter(\.isCompute)
            let leadingForwards = compute.prefix { if case .forward = $0 { true } else { false } }.count
            // Warm-up S−1−s forwards, then the first steady-state forward before the first backward.
            #expect(leadingForwards == 4 - 1 - stage + 1, "stage \(stage)")
        }
        // Stage 0 in full: 3 warm-up forwards, 3 F/B pairs, 3 cool-down backwards.
        let stage0 = schedule.actions[0].filter(\.isCompute).map(\.description)
        #expect(stage0 == ["F0", "F1", "F2", "F3", "BW0", "F4", "BW1", "F5", "BW2", "BW3", "BW4", "BW5"])
    }

    @Test func gpipeRunsAllForwardsThenAllBackwards() throws {
        let schedule = try PipelineSchedule.gpipe(stages: 3, microBatches: 3)
        for stage in 0..<3 {
            #expect(schedule.actions[stage].filter(\.isCompute).map(\.description)
                    == ["F0", "F1", "F2", "BW0", "BW1", "BW2"])
        }
    }

    @Test func zeroBubbleSplitsEveryBackwardAndDefersWeightGradients() throws {
        let schedule = try PipelineSchedule.zeroBubbleH1(stages: 4, microBatches: 8)
        for stage in 0..<4 {
            let compute = schedule.actions[stage].filter(\.isCompute)
            #expect(!compute.contains { if case .backward = $0 { true } else { false } })
            #expect(compute.count == 3 * 8)
        }
        // Stage s defers W by its S−1−s warm-up micro-batches: W0 comes after B(S−1−s).
        for stage in 0..<3 {
            let compute = schedule.actions[stage].filter(\.isCompute).map(\.description)
            #expect(compute.firstIndex(of: "W0")! > compute.firstIndex(of: "B\(3 - stage)")!, "stage \(stage)")
            #expect(compute.last == "W7")
        }
    }

    @Test func transfersConnectNeighboursOnly() throws {
        let schedule = try PipelineSchedule.zeroBubbleH1(stages: 3, microBatches: 4)
        #expect(schedule.actions[0].contains(.send(.activation, microBatch: 3, to: 1)))
        #expect(schedule.actions[2].contains(.send(.gradient, microBatch: 3, to: 1)))
        #expect(!schedule.actions[0].contains { if case .receive(.activation, _, _) = $0 { true } else { false } })
        #expect(!schedule.actions[2].contains { if case .send(.activation, _, _) = $0 { true } else { false } })
    }

    @Test func gridPrintsStepsByStages() throws {
        let schedule = try PipelineSchedule.gpipe(stages: 2, microBatches: 1)
        #expect(schedule.grid() == """
            step | stage 0   | stage 1
               0 | F0        | RECV_F0←0
               1 | SEND_F0→1 | F0
               2 | RECV_B0←1 | BW0
               3 | BW0       | SEND_B0→0
            """)
        #expect(schedule.grid(marked: [(stage: 1, index: 2)]).contains("| BW0*"))
    }

    @Test func actionsPrintLikePyTorch() {
        #expect(PipelineAction.forward(microBatch: 0).label(stage: 1) == "1F0")
        #expect(PipelineAction.backwardInput(microBatch: 2).label(stage: 1) == "1B2")
        #expect(PipelineAction.backwardWeight(microBatch: 2).label(stage: 0) == "0W2")
        #expect(PipelineAction.backward(microBatch: 3).description == "BW3")
        #expect(PipelineAction.send(.activation, microBatch: 0, to: 1).description == "SEND_F0→1")
        #expect(PipelineAction.receive(.gradient, microBatch: 4, from: 2).description == "RECV_B4←2")
    }

    @Test func generatorsRejectEmptyPipelines() {
        #expect(throws: PipelineScheduleError.self) { try PipelineSchedule.gpipe(stages: 0, microBatches: 4) }
        #expect(throws: PipelineScheduleError.self) { try PipelineSchedule.zeroBubbleH1(stages: 2, microBatches: 0) }
        #expect(throws: PipelineScheduleError.self) {
            try PipelineSchedule(stages: 2, microBatches: 1, actions: [[.forward(microBatch: 0)]])
        }
    }
}
