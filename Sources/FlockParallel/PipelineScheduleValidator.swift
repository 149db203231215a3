/// Checks a ``PipelineSchedule`` before it runs, throwing a ``PipelineScheduleError`` that
/// names the stage, action index and micro-batch of the first problem found.
///
/// Checks, in this order:
/// 1. every action's micro-batch is in `0..<M`; activations go to and come from the
///    neighbouring stage on the forward side, gradients on the backward side;
/// 2. per (source, destination, kind) channel, the n-th receive names the micro-batch of the
///    n-th send (MPI's non-overtaking order), and no send or receive is left without a partner;
/// 3. per stage: each micro-batch has exactly one F and either one B and one W or one full
///    backward; B or full backward after F, W after B; a send after the pass producing its
///    data; a forward (stage > 0) after its activation's receive and a backward
///    (stage < S−1) after its gradient's receive;
/// 4. no deadlock: all stages run together with *blocking rendezvous* transfers (a send
///    waits until the receiver reaches the matching receive, the strictest MPI allows, as
///    with `MPI_Ssend` or messages past the eager limit); a stuck run reports the cycle of
///    stages waiting on each other;
/// 5. with `activationBound`, no stage ever holds more than that many micro-batches
///    forwarded but not yet through B or full backward.
public enum PipelineScheduleValidator {
    public static func validate(_ schedule: PipelineSchedule, activationBound: Int? = nil) throws {
        try checkActionsInRange(schedule)
        try checkChannelOrder(schedule)
        for stage in 0..<schedule.stages {
            try checkStageOrder(schedule, stage: stage)
        }
        try checkNoDeadlock(schedule)
        if let activationBound {
            try checkActivationBound(schedule, bound: activationBound)
        }
    }

    static func error(_ kind: PipelineScheduleError.Kind, _ schedule: PipelineSchedule, stage: Int,
                      index: Int?, _ message: String) -> PipelineScheduleError {
        let microBatch = index.map { schedule.actions[stage][$0].microBatch }
        let named = index.map { "\(schedule.actions[stage][$0].label(stage: stage)): " } ?? ""
        return PipelineScheduleError(kind: kind, stage: stage, actionIndex: index, microBatch: microBatch,
                                     message: named + message)
    }

    static func checkActionsInRange(_ schedule: PipelineSchedule) throws {
        for (stage, actions) in schedule.actions.enumerated() {
            for (index, action) in actions.enumerated() {
                guard (0..<schedule.microBatches).contains(action.microBatch) else {
                    throw error(.invalidAction, schedule, stage: stage, index: index,
                                "micro-batch outside 0..<\(schedule.microBatches)")
                }
                let expectedPeer: Int?
                switch action {
                case .send(.activation, _, let peer), .receive(.gradient, _, let peer):
                    expectedPeer = peer == stage + 1 ? nil : stage + 1
                case .send(.gradient, _, let peer), .receive(.activation, _, let peer):
                    expectedPeer = peer == stage - 1 ? nil : stage - 1
                default:
                    expectedPeer = nil
                }
                if let expectedPeer {
                    throw error(.invalidAction, schedule, stage: stage, index: index,
                                "this transfer's peer must be stage \(expectedPeer)"
                                    + ((0..<schedule.stages).contains(expectedPeer) ? "" : ", which does not exist"))
                }
            }
        }
    }

    /// Sends and receives of one channel, with their stage-list positions.
    struct ChannelTraffic {
        var sends: [(index: Int, microBatch: Int)] = []
        var receives: [(index: Int, microBatch: Int)] = []
    }

    static func checkChannelOrder(_ schedule: PipelineSchedule) throws {
        var traffic: [PipelineChannel: ChannelTraffic] = [:]
        for (stage, actions) in schedule.actions.enumerated() {
            for (index, action) in actions.enumerated() {
                if case .send(let kind, let m, let peer) = action {
                    traffic[PipelineChannel(source: stage, destination: peer, kind: kind), default: .init()]
                        .sends.append((index, m))
                } else if case .receive(let kind, let m, let peer) = action {
                    traffic[PipelineChannel(source: peer, destination: stage, kind: kind), default: .init()]
                        .receives.append((index, m))
                }
            }
        }
        // Report in stage order, so the same schedule always gives the same error.
        let channels = traffic.keys.sorted { ($0.destination, $0.source, $0.kind == .gradient ? 1 : 0)
                                             < ($1.destination, $1.source, $1.kind == .gradient ? 1 : 0) }
        for channel in channels {
            let flow = traffic[channel]!
            let what = channel.kind == .activation ? "activation" : "gradient"
            for (n, receive) in flow.receives.enumerated() {
                guard n < flow.sends.count else {
                    throw error(.unmatched, schedule, stage: channel.destination, index: receive.index,
                                "no matching send: stage \(channel.source) sends only \(flow.sends.count) "
                                    + "\(what)s to stage \(channel.destination)")
                }
                let sent = flow.sends[n].microBatch
                guard sent == receive.microBatch else {
                    throw error(.mismatchedOrder, schedule, stage: channel.destination, index: receive.index,
                                "receive \(n + 1) of \(what)s from stage \(channel.source) is for micro-batch "
                                    + "\(receive.microBatch) but send \(n + 1) (action \(flow.sends[n].index) on stage "
                                    + "\(channel.source)) carries micro-batch \(sent); MPI delivers in send order")
                }
            }
            if flow.sends.count > flow.receives.count {
                let send = flow.sends[flow.receives.count]
                throw error(.unmatched, schedule, stage: channel.source, index: send.index,
                            "no matching receive: stage \(channel.destination) receives only "
                                + "\(flow.receives.count) \(what)s from stage \(channel.source)")
            }
        }
    }
}
