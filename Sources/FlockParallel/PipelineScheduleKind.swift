/// The schedules a pipeline job can run, by their config names.
public enum PipelineScheduleKind: String, CaseIterable, Codable, Sendable {
    case gpipe
    case oneForwardOneBackward = "1f1b"
    case zeroBubbleH1 = "zb-h1"

    /// The schedule for `stages` stages and `microBatches` micro-batches, validated
    /// (order, matched transfers, no deadlock, activation bound) before it is returned.
    public func schedule(stages: Int, microBatches: Int) throws -> PipelineSchedule {
        let schedule: PipelineSchedule
        switch self {
        case .gpipe: schedule = try .gpipe(stages: stages, microBatches: microBatches)
        case .oneForwardOneBackward: schedule = try .oneForwardOneBackward(stages: stages, microBatches: microBatches)
        case .zeroBubbleH1: schedule = try .zeroBubbleH1(stages: stages, microBatches: microBatches)
        }
        try PipelineScheduleValidator.validate(schedule, activationBound: schedule.activationBound)
        return schedule
    }
}
