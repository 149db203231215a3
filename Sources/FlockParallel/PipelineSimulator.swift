/// Predicts how a pipeline schedule runs from per-action costs: each stage's timeline, the
/// step's total time, the bubble (idle share of stage time) and peak activation memory.
///
/// Model: a stage runs its actions in order; a compute pass occupies it for its cost; a
/// send is asynchronous for timing (as `MPI_Isend` or an eager send: the stage goes on at
/// once) and its data is receivable `communication` later; a receive holds the stage until
/// its data is there. Deadlock freedom is checked separately, and more strictly (blocking
/// rendezvous sends), by ``PipelineScheduleValidator``, which ``simulate(_:costs:)`` runs first.
///
/// ```swift
/// let schedule = try PipelineSchedule.oneForwardOneBackward(stages: 4, microBatches: 8)
/// let run = try PipelineSimulator.simulate(schedule, costs: PipelineCosts())
/// run.bubbleFraction   // 3/11 = (S−1)/(M+S−1)
/// ```
public enum PipelineSimulator {
    /// One compute pass on a stage's timeline.
    public struct Interval: Sendable, Equatable {
        public let action: PipelineAction
        public let start: Double
        public let end: Double
    }

    /// What ``simulate(_:costs:)`` predicts for one step.
    public struct Result: Sendable, Equatable {
        /// `timelines[s]`: stage s's compute passes in order, with times.
        public let timelines: [[Interval]]
        /// From the first pass's start (0) to the last pass's end, over all stages.
        public let totalTime: Double
        /// `busyTime[s]`: time stage s spent computing.
        public let busyTime: [Double]
        /// Idle share of all stages' time: 1 − Σ busy / (S × total).
        public let bubbleFraction: Double
        /// `peakInFlight[s]`: most micro-batches forwarded but not yet through B or full
        /// backward at once on stage s (activations held for the input gradient).
        public let peakInFlight: [Int]
        /// `peakAwaitingWeightGradient[s]`: most micro-batches forwarded but not yet through
        /// W or full backward (inputs held for the weight gradient).
        public let peakAwaitingWeightGradient: [Int]
    }

    /// Validates `schedule` (throwing ``PipelineScheduleError``) and simulates one step.
    public static func simulate(_ schedule: PipelineSchedule, costs: PipelineCosts = PipelineCosts()) throws -> Result {
        try simulate(schedule, stageCosts: Array(repeating: costs, count: schedule.stages))
    }

    /// `simulate(_:costs:)` with each stage's own costs (`stageCosts[s]`, one per stage):
    /// stages are never quite equal (the first has no input gradient to compute for its
    /// first layer, the last adds the loss).
    public static func simulate(_ schedule: PipelineSchedule, stageCosts: [PipelineCosts]) throws -> Result {
        precondition(stageCosts.count == schedule.stages, "\(stageCosts.count) stage costs for \(schedule.stages) stages")
        for costs in stageCosts { try costs.validate() }
        try PipelineScheduleValidator.validate(schedule)
        let stages = schedule.stages
        // Per (source, destination, kind) channel: when each sent message becomes receivable, FIFO.
        var arrivals: [PipelineChannel: [Double]] = [:]
        var received: [PipelineChannel: Int] = [:]
        var clock = Array(repeating: 0.0, count: stages)
        var next = Array(repeating: 0, count: stages)
        var timelines = Array(repeating: [Interval](), count: stages)
        var progressed = true
        while progressed {
            progressed = false
            for stage in 0..<stages {
                actions: while next[stage] < schedule.actions[stage].count {
                    let action = schedule.actions[stage][next[stage]]
                    switch action {
                    case .send(let kind, _, let peer):
                        arrivals[PipelineChannel(source: stage, destination: peer, kind: kind), default: []]
                            .append(clock[stage] + stageCosts[stage].communication)
                    case .receive(let kind, _, let peer):
                        let channel = PipelineChannel(source: peer, destination: stage, kind: kind)
                        let index = received[channel, default: 0]
                        guard let sent = arrivals[channel], index < sent.count else { break actions }
                        clock[stage] = max(clock[stage], sent[index])
                        received[channel] = index + 1
                    default:
                        let end = clock[stage] + stageCosts[stage].cost(of: action)
                        timelines[stage].append(Interval(action: action, start: clock[stage], end: end))
                        clock[stage] = end
                    }
                    next[stage] += 1
                    progressed = true
                }
            }
        }
        precondition(zip(next, schedule.actions).allSatisfy { $0 == $1.count },
                     "simulator stalled on a schedule the validator accepted")
        return summarize(timelines, stages: stages)
    }

    static func summarize(_ timelines: [[Interval]], stages: Int) -> Result {
        let total = timelines.compactMap { $0.last?.end }.max() ?? 0
        let busy = timelines.map { $0.reduce(0) { $0 + ($1.end - $1.start) } }
        let bubble = total > 0 ? 1 - busy.reduce(0, +) / (Double(stages) * total) : 0
        func peak(_ timeline: [Interval], releasedBy release: (PipelineAction) -> Bool) -> Int {
            var held = 0, most = 0
            for interval in timeline {
                if case .forward = interval.action { held += 1 }
                if release(interval.action) { held -= 1 }
                most = max(most, held)
            }
            return most
        }
        let inFlight = timelines.map { peak($0, releasedBy: \.completesInputGradient) }
        let awaitingW = timelines.map { peak($0, releasedBy: \.completesWeightGradient) }
        return Result(timelines: timelines, totalTime: total, busyTime: busy, bubbleFraction: bubble,
                      peakInFlight: inFlight, peakAwaitingWeightGradient: awaitingW)
    }
}

/// A one-way, one-kind link between two stages; MPI keeps each such channel in order.
struct PipelineChannel: Hashable {
    let source: Int
    let destination: Int
    let kind: PipelineAction.TransferKind
}
