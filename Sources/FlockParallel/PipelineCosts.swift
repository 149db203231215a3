/// Time each pipeline action takes, in any one unit, for ``PipelineSimulator``.
///
/// Convention: a full backward costs `backwardInput + backwardWeight`; the defaults
/// (F = B = W = 1) give the usual "backward = 2 × forward".
public struct PipelineCosts: Sendable, Equatable {
    public var forward: Double
    /// B: input-gradient pass.
    public var backwardInput: Double
    /// W: weight-gradient pass.
    public var backwardWeight: Double
    /// Time from a send being posted until its data can be received.
    public var communication: Double

    public init(forward: Double = 1, backwardInput: Double = 1, backwardWeight: Double = 1,
                communication: Double = 0) {
        self.forward = forward
        self.backwardInput = backwardInput
        self.backwardWeight = backwardWeight
        self.communication = communication
    }

    /// Full backward: B and W in one pass.
    public var backward: Double { backwardInput + backwardWeight }

    /// The time `action` occupies its stage; sends and receives occupy none of their own
    /// (a receive waits for its data, see ``PipelineSimulator``).
    public func cost(of action: PipelineAction) -> Double {
        switch action {
        case .forward: return forward
        case .backwardInput: return backwardInput
        case .backwardWeight: return backwardWeight
        case .backward: return backward
        case .send, .receive: return 0
        }
    }

    /// Throws unless compute costs are positive and finite and communication is ≥ 0.
    func validate() throws {
        let passes = [("forward", forward), ("backwardInput", backwardInput), ("backwardWeight", backwardWeight)]
        for (field, value) in passes where !(value > 0 && value.isFinite) {
            throw PipelineScheduleError(kind: .invalidAction, stage: 0, actionIndex: nil, microBatch: nil,
                                        message: "cost \(field) must be positive and finite, got \(value)")
        }
        guard communication >= 0, communication.isFinite else {
            throw PipelineScheduleError(kind: .invalidAction, stage: 0, actionIndex: nil, microBatch: nil,
                                        message: "cost communication must be ≥ 0 and finite, got \(communication)")
        }
    }
}
