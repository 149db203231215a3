/// The schedule generators: GPipe, 1F1B and ZB-H1. Each first fixes the order of the
/// compute passes on every stage, then inserts the transfers between neighbours with
/// ``insertingTransfers(stages:microBatches:computeOrder:)``.
extension PipelineSchedule {
    /// GPipe (Huang et al. 2019): every stage runs all M forwards, then all M full
    /// backwards in micro-batch order. Bubble (S−1)/(M+S−1); holds all M micro-batches'
    /// activations at once.
    public static func gpipe(stages: Int, microBatches: Int) throws -> PipelineSchedule {
        try checkSizes(stages: stages, microBatches: microBatches)
        let order = (0..<stages).map { _ in
            (0..<microBatches).map { PipelineAction.forward(microBatch: $0) }
                + (0..<microBatches).map { PipelineAction.backward(microBatch: $0) }
        }
        return try PipelineSchedule(name: "gpipe", stages: stages, microBatches: microBatches,
                                    actions: insertingTransfers(stages: stages, microBatches: microBatches,
                                                                computeOrder: order),
                                    activationBound: microBatches)
    }

    /// 1F1B (PipeDream-Flush, Narayanan et al. 2021): stage `s` warms up with
    /// `min(S−1−s, M)` forwards, then alternates one forward and one full backward, then
    /// cools down with the remaining backwards. Same bubble as GPipe, (S−1)/(M+S−1), but
    /// stage `s` holds at most `min(S−s, M)` micro-batches' activations.
    public static func oneForwardOneBackward(stages: Int, microBatches: Int) throws -> PipelineSchedule {
        try checkSizes(stages: stages, microBatches: microBatches)
        let order = (0..<stages).map { stage in
            let warmUp = min(stages - 1 - stage, microBatches)
            var actions = (0..<warmUp).map { PipelineAction.forward(microBatch: $0) }
            for step in 0..<(microBatches - warmUp) {
                actions.append(.forward(microBatch: warmUp + step))
                actions.append(.backward(microBatch: step))
            }
            actions += ((microBatches - warmUp)..<microBatches).map { PipelineAction.backward(microBatch: $0) }
            return actions
        }
        return try PipelineSchedule(name: "1f1b", stages: stages, microBatches: microBatches,
                                    actions: insertingTransfers(stages: stages, microBatches: microBatches,
                                                                computeOrder: order),
                                    activationBound: min(stages, microBatches))
    }

    /// ZB-H1 (Qi et al. 2024, "Zero Bubble Pipeline Parallelism", §2.1): backward split into
    /// input gradient B and weight gradient W; B passes run as early as 1F1B's would and W
    /// passes are deferred to fill the idle slots, mostly the cool-down. With F = B = W and
    /// M ≥ S the step takes 3M+S−1 and the bubble is (S−1)/(3M+S−1): a third of 1F1B's idle
    /// time. With M < S there is too little work to fill the pipeline and the gain is smaller.
    ///
    /// Built by list scheduling at unit costs: whenever a stage is free it runs, in order of
    /// preference, the next B whose gradient has arrived; the next F whose input has arrived,
    /// if stage `s` then holds at most `S−s` micro-batches not yet through B (1F1B's bound,
    /// the activations B needs) and at most `2S−1−s` not yet through W (W deferred by up to
    /// the `S−1−s` warm-up forwards, as in the paper; W keeps only the smaller state it
    /// needs); else the oldest pending W. A tighter W bound of S costs 1–3 time units at
    /// S = 2…6 (measured), so the paper's deferral is kept.
    public static func zeroBubbleH1(stages: Int, microBatches: Int) throws -> PipelineSchedule {
        try checkSizes(stages: stages, microBatches: microBatches)
        let order = zeroBubbleH1ComputeOrder(stages: stages, microBatches: microBatches)
        return try PipelineSchedule(name: "zb-h1", stages: stages, microBatches: microBatches,
                                    actions: insertingTransfers(stages: stages, microBatches: microBatches,
                                                                computeOrder: order),
                                    activationBound: min(stages, microBatches))
    }

    /// ZB-H1's compute passes per stage, by the greedy rule above at F = B = W = 1.
    static func zeroBubbleH1ComputeOrder(stages: Int, microBatches: Int) -> [[PipelineAction]] {
        let unknown = Int.max
        var forwardEnd = Array(repeating: Array(repeating: unknown, count: microBatches), count: stages)
        var inputGradientEnd = forwardEnd
        var nextForward = Array(repeating: 0, count: stages)
        var nextInputGradient = Array(repeating: 0, count: stages)
        var weightGradientsDone = Array(repeating: 0, count: stages)
        var busyUntil = Array(repeating: 0, count: stages)
        var order = Array(repeating: [PipelineAction](), count: stages)
        var time = 0
        // Each pass takes one time unit; a stage decides at `time` from passes ended by `time`.
        while weightGradientsDone.contains(where: { $0 < microBatches }) {
            for stage in 0..<stages where busyUntil[stage] <= time {
                let b = nextInputGradient[stage], f = nextForward[stage]
                let gradientArrived = b < microBatches && forwardEnd[stage][b] <= time
                    && (stage == stages - 1 || inputGradientEnd[stage + 1][b] <= time)
                let inputArrived = f < microBatches && (stage == 0 || forwardEnd[stage - 1][f] <= time)
                let memoryAllows = f - b < stages - stage && f - weightGradientsDone[stage] < 2 * stages - 1 - stage
                if gradientArrived {
                    order[stage].append(.backwardInput(microBatch: b))
                    inputGradientEnd[stage][b] = time + 1
                    nextInputGradient[stage] += 1
                } else if inputArrived && memoryAllows {
                    order[stage].append(.forward(microBatch: f))
                    forwardEnd[stage][f] = time + 1
                    nextForward[stage] += 1
                } else if weightGradientsDone[stage] < b {
                    order[stage].append(.backwardWeight(microBatch: weightGradientsDone[stage]))
                    weightGradientsDone[stage] += 1
                } else {
                    continue
                }
                busyUntil[stage] = time + 1
            }
            time += 1
            precondition(time <= 8 * stages * microBatches + 8, "ZB-H1 list scheduling made no progress")
        }
        return order
    }
}
