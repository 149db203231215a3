/// Placing the sends and receives between a schedule's compute passes so that the
/// schedule cannot deadlock, even when every send blocks until its receive is posted.
extension PipelineSchedule {
    /// Adds the transfers to per-stage compute orders: stage `s` sends each forward's
    /// activation to `s+1` and each (input-)backward's gradient to `s−1`, and receives what
    /// its forwards and backwards consume.
    ///
    /// Placement: time the compute order as a dataflow at F = B = W = 1 (full backward 2,
    /// transfers free); a send sits at the moment its pass ends, a receive at the moment the
    /// data is sent, both sides of a transfer at the same instant. Sorting every stage's
    /// actions by (instant, transfers before computes, activation before gradient,
    /// micro-batch, link) embeds all stages' lists in one global order in which each
    /// transfer's two halves are adjacent, so the lists run to the end under rendezvous
    /// semantics and MPI's in-order delivery.
    static func insertingTransfers(stages: Int, microBatches: Int,
                                   computeOrder: [[PipelineAction]]) -> [[PipelineAction]] {
        let timing = PipelineDataflowTiming(stages: stages, microBatches: microBatches,
                                            computeOrder: computeOrder, costs: PipelineCosts())
        typealias Key = (time: Double, isCompute: Int, isGradient: Int, microBatch: Int, link: Int)
        return (0..<stages).map { stage in
            var keyed: [(key: Key, action: PipelineAction)] = []
            for (index, action) in computeOrder[stage].enumerated() {
                let start = timing.start[stage][index], end = timing.end[stage][index]
                let m = action.microBatch
                keyed.append(((start, 1, 0, m, 0), action))
                switch action {
                case .forward:
                    if stage > 0 {
                        let sent = timing.forwardEnd[stage - 1][m]
                        keyed.append(((sent, 0, 0, m, stage - 1), .receive(.activation, microBatch: m, from: stage - 1)))
                    }
                    if stage < stages - 1 {
                        keyed.append(((end, 0, 0, m, stage), .send(.activation, microBatch: m, to: stage + 1)))
                    }
                case .backwardInput, .backward:
                    if stage < stages - 1 {
                        let sent = timing.inputGradientEnd[stage + 1][m]
                        keyed.append(((sent, 0, 1, m, stage), .receive(.gradient, microBatch: m, from: stage + 1)))
                    }
                    if stage > 0 {
                        keyed.append(((end, 0, 1, m, stage - 1), .send(.gradient, microBatch: m, to: stage - 1)))
                    }
                case .backwardWeight, .send, .receive:
                    break
                }
            }
            return keyed.sorted { $0.key < $1.key }.map(\.action)
        }
    }
}

/// Start and end times of compute-only stage orders run as a dataflow: each pass starts
/// when its stage is free and its inputs exist (F after the previous stage's F, B or full
/// backward after the next stage's B, W after the local B). Transfers take
/// `costs.communication`.
struct PipelineDataflowTiming {
    /// `start[s][i]`, `end[s][i]`: times of `computeOrder[s][i]`.
    var start: [[Double]]
    var end: [[Double]]
    /// `[s][m]`: when stage s finished micro-batch m's forward / input gradient (B or full).
    var forwardEnd: [[Double]]
    var inputGradientEnd: [[Double]]

    init(stages: Int, microBatches: Int, computeOrder: [[PipelineAction]], costs: PipelineCosts) {
        let unknown = Double.infinity
        forwardEnd = Array(repeating: Array(repeating: unknown, count: microBatches), count: stages)
        inputGradientEnd = forwardEnd
        var weightGradientEnd = forwardEnd
        start = computeOrder.map { Array(repeating: unknown, count: $0.count) }
        end = start
        var next = Array(repeating: 0, count: stages)
        var free = Array(repeating: 0.0, count: stages)
        var progressed = true
        while progressed {
            progressed = false
            for stage in 0..<stages {
                while next[stage] < computeOrder[stage].count {
                    let action = computeOrder[stage][next[stage]]
                    let m = action.microBatch
                    let ready: Double
                    switch action {
                    case .forward:
                        ready = stage == 0 ? 0 : forwardEnd[stage - 1][m] + costs.communication
                    case .backwardInput, .backward:
                        ready = max(forwardEnd[stage][m], stage == stages - 1
                                    ? 0 : inputGradientEnd[stage + 1][m] + costs.communication)
                    case .backwardWeight:
                        ready = inputGradientEnd[stage][m]
                    case .send, .receive:
                        preconditionFailure("dataflow timing takes compute passes only")
                    }
                    guard ready < unknown else { break }
                    let begin = max(free[stage], ready), finish = begin + costs.cost(of: action)
                    start[stage][next[stage]] = begin
                    end[stage][next[stage]] = finish
                    switch action {
                    case .forward: forwardEnd[stage][m] = finish
                    case .backwardInput: inputGradientEnd[stage][m] = finish
                    case .backward: inputGradientEnd[stage][m] = finish; weightGradientEnd[stage][m] = finish
                    default: weightGradientEnd[stage][m] = finish
                    }
                    free[stage] = finish
                    next[stage] += 1
                    progressed = true
                }
            }
        }
        precondition(zip(next, computeOrder).allSatisfy { $0 == $1.count },
                     "generated compute order has a dependency cycle")
    }
}
