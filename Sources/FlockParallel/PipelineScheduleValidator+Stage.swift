/// Per-stage checks: each micro-batch's passes present once, in dependency order, each
/// after the receive of its input.
extension PipelineScheduleValidator {
    /// Where (action index) each of a stage's micro-batches reached each milestone.
    struct StageProgress {
        var forward: [Int?], inputGradient: [Int?], weightGradient: [Int?], fullBackward: [Int?]
        var activationReceived: [Int?], gradientReceived: [Int?]
        var activationSent: [Int?], gradientSent: [Int?]

        init(microBatches: Int) {
            let none = [Int?](repeating: nil, count: microBatches)
            (forward, inputGradient, weightGradient, fullBackward) = (none, none, none, none)
            (activationReceived, gradientReceived, activationSent, gradientSent) = (none, none, none, none)
        }
    }

    static func checkStageOrder(_ schedule: PipelineSchedule, stage: Int) throws {
        let isFirst = stage == 0, isLast = stage == schedule.stages - 1
        var seen = StageProgress(microBatches: schedule.microBatches)
        func mark(_ slot: WritableKeyPath<StageProgress, [Int?]>, _ m: Int, _ index: Int, _ what: String) throws {
            if let earlier = seen[keyPath: slot][m] {
                throw error(.duplicate, schedule, stage: stage, index: index, "\(what) already at action \(earlier)")
            }
            seen[keyPath: slot][m] = index
        }
        func require(_ slot: KeyPath<StageProgress, [Int?]>, _ m: Int, _ index: Int,
                     _ kind: PipelineScheduleError.Kind, _ message: String) throws {
            if seen[keyPath: slot][m] == nil { throw error(kind, schedule, stage: stage, index: index, message) }
        }
        for (index, action) in schedule.actions[stage].enumerated() {
            let m = action.microBatch
            switch action {
            case .forward:
                try mark(\.forward, m, index, "forward")
                if !isFirst {
                    try require(\.activationReceived, m, index, .inputNotReceived,
                                "forward before its activation was received from stage \(stage - 1)")
                }
            case .backwardInput, .backward:
                let isFull = action.completesWeightGradient
                try mark(isFull ? \.fullBackward : \.inputGradient, m, index, isFull ? "full backward" : "input gradient")
                if (isFull ? seen.inputGradient[m] : seen.fullBackward[m]) != nil {
                    throw error(.invalidAction, schedule, stage: stage, index: index,
                                "micro-batch has both a full backward and a split one")
                }
                try require(\.forward, m, index, .outOfOrder, "\(isFull ? "backward" : "input gradient") before the forward")
                if !isLast {
                    try require(\.gradientReceived, m, index, .inputNotReceived,
                                "backward before its gradient was received from stage \(stage + 1)")
                }
            case .backwardWeight:
                try mark(\.weightGradient, m, index, "weight gradient")
                if seen.fullBackward[m] != nil {
                    throw error(.invalidAction, schedule, stage: stage, index: index,
                                "micro-batch has both a full backward and a split one")
                }
                try require(\.inputGradient, m, index, .outOfOrder, "weight gradient before the input gradient")
            case .send(.activation, _, _):
                try mark(\.activationSent, m, index, "activation send")
                try require(\.forward, m, index, .outOfOrder, "activation sent before the forward producing it")
            case .send(.gradient, _, _):
                try mark(\.gradientSent, m, index, "gradient send")
                if seen.inputGradient[m] == nil && seen.fullBackward[m] == nil {
                    throw error(.outOfOrder, schedule, stage: stage, index: index,
                                "gradient sent before the backward producing it")
                }
            case .receive(.activation, _, _):
                try mark(\.activationReceived, m, index, "activation receive")
            case .receive(.gradient, _, _):
                try mark(\.gradientReceived, m, index, "gradient receive")
            }
        }
        try checkComplete(seen, schedule, stage: stage)
    }

    static func checkComplete(_ seen: StageProgress, _ schedule: PipelineSchedule, stage: Int) throws {
        func missing(_ m: Int, _ what: String) -> PipelineScheduleError {
            PipelineScheduleError(kind: .missing, stage: stage, actionIndex: nil, microBatch: m,
                                  message: "no \(what) for micro-batch \(m)")
        }
        for m in 0..<schedule.microBatches {
            if seen.forward[m] == nil { throw missing(m, "forward") }
            if seen.fullBackward[m] == nil && seen.inputGradient[m] == nil { throw missing(m, "backward") }
            if seen.inputGradient[m] != nil && seen.weightGradient[m] == nil { throw missing(m, "weight gradient (W)") }
        }
    }

    static func checkActivationBound(_ schedule: PipelineSchedule, bound: Int) throws {
        for (stage, actions) in schedule.actions.enumerated() {
            var held = 0
            for (index, action) in actions.enumerated() {
                if case .forward = action { held += 1 }
                if action.completesInputGradient { held -= 1 }
                if held > bound {
                    throw error(.activationBoundExceeded, schedule, stage: stage, index: index,
                                "\(held) micro-batches forwarded and not yet backwarded, bound is \(bound)")
                }
            }
        }
    }
}
