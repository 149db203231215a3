/// Deadlock check: runs all stages together with blocking rendezvous transfers.
extension PipelineScheduleValidator {
    /// Needs channels already matched in order (``checkChannelOrder(_:)``), so a transfer's
    /// partner is whatever its peer reaches next on that channel.
    static func checkNoDeadlock(_ schedule: PipelineSchedule) throws {
        let stages = schedule.stages
        var next = Array(repeating: 0, count: stages)
        func current(_ stage: Int) -> PipelineAction? {
            next[stage] < schedule.actions[stage].count ? schedule.actions[stage][next[stage]] : nil
        }
        /// Whether `a` on stage `s` and `b` on stage `t` are the two halves of one transfer.
        func pair(_ a: PipelineAction, _ s: Int, _ b: PipelineAction?, _ t: Int) -> Bool {
            guard let b else { return false }
            if case .send(let kind, let m, let to) = a, case .receive(kind, m, let from) = b { return to == t && from == s }
            if case .receive(let kind, let m, let from) = a, case .send(kind, m, let to) = b { return to == s && from == t }
            return false
        }
        var progressed = true
        while progressed {
            progressed = false
            for stage in 0..<stages {
                while let action = current(stage) {
                    if action.isCompute {
                        next[stage] += 1
                    } else if pair(action, stage, current(peer(of: action)), peer(of: action)) {
                        next[stage] += 1
                        next[peer(of: action)] += 1
                    } else {
                        break
                    }
                    progressed = true
                }
            }
        }
        guard let blocked = (0..<stages).first(where: { current($0) != nil }) else { return }
        // Follow "waits for" edges from a blocked stage until a stage repeats: that is the cycle.
        var path: [Int] = [], stage = blocked
        while !path.contains(stage), let action = current(stage) {
            path.append(stage)
            stage = peer(of: action)
        }
        let cycle = path.contains(stage) ? Array(path[path.firstIndex(of: stage)!...]) : path
        let pending = cycle.map {
            PipelineScheduleError.Pending(stage: $0, actionIndex: next[$0], action: current($0)!)
        }
        let story = pending.map {
            "stage \($0.stage) waits at action \($0.actionIndex) (\($0.action.label(stage: $0.stage))) for stage \(peer(of: $0.action))"
        }.joined(separator: "; ")
        let grid = schedule.grid(marked: pending.map { ($0.stage, $0.actionIndex) })
        var failure = PipelineScheduleError(kind: .deadlock, stage: pending[0].stage, actionIndex: pending[0].actionIndex,
                                            microBatch: pending[0].action.microBatch,
                                            message: "deadlock with blocking sends: \(story)\n\(grid)")
        failure.cycle = pending
        throw failure
    }

    static func peer(of action: PipelineAction) -> Int {
        switch action {
        case .send(_, _, let peer), .receive(_, _, let peer): return peer
        default: preconditionFailure("compute actions have no peer")
        }
    }
}
