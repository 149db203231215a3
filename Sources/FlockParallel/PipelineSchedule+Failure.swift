/// Where every stage stands when one stops: a failed step's report shows them all.
extension PipelineSchedule {
    /// The action each stage is at when stage `failed` stops at its action `index` (which
    /// never completes) and every other stage runs on as far as it can: sends never wait
    /// (as the executor's), a receive waits until its sender has run the matching send.
    /// `positions[s]` is the index of the action stage s waits at (`failed`'s: `index`), or
    /// its action count when it finished. The schedule fixes this completely, so it is
    /// where the other ranks are, not a guess.
    public func positions(whenStage failed: Int, stopsAt index: Int) -> [Int] {
        var next = Array(repeating: 0, count: stages)
        var sent: [PipelineChannel: Int] = [:], received: [PipelineChannel: Int] = [:]
        var progressed = true
        while progressed {
            progressed = false
            for stage in 0..<stages {
                let end = stage == failed ? min(index, actions[stage].count) : actions[stage].count
                actions: while next[stage] < end {
                    switch actions[stage][next[stage]] {
                    case .send(let kind, _, let peer):
                        sent[PipelineChannel(source: stage, destination: peer, kind: kind), default: 0] += 1
                    case .receive(let kind, _, let peer):
                        let channel = PipelineChannel(source: peer, destination: stage, kind: kind)
                        guard received[channel, default: 0] < sent[channel, default: 0] else { break actions }
                        received[channel, default: 0] += 1
                    default:
                        break
                    }
                    next[stage] += 1
                    progressed = true
                }
            }
        }
        return next
    }

    /// The step × stage table with stage `failed`'s action `index` marked `*` and the
    /// action every other stage waits at marked `<` (a finished stage has no mark).
    public func failureGrid(stage failed: Int, index: Int) -> String {
        let waiting = positions(whenStage: failed, stopsAt: index).enumerated()
            .filter { $0.offset != failed }.map { (stage: $0.offset, index: $0.element) }
        return grid(marked: [(failed, index)], waiting: waiting)
    }
}
