/// Why a pipeline schedule cannot run, with where: the stage, the index of the offending
/// action in that stage's list, and the micro-batch.
///
/// `description` reads like `stage 1, action 4 (B3), micro-batch 3: input gradient before
/// the forward`; a deadlock's also lists the cycle of stages waiting on each other.
public struct PipelineScheduleError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// Bad sizes, a micro-batch or peer stage out of range, a transfer to oneself,
        /// or split and full backward mixed for one micro-batch.
        case invalidAction
        /// A micro-batch's F, B, W or full backward is absent on a stage.
        case missing
        /// A micro-batch's F, B, W, full backward or a receive appears twice on a stage.
        case duplicate
        /// B or full backward before F, W before B, or a send before the pass producing it.
        case outOfOrder
        /// A forward (stage > 0) or backward (stage < S − 1) before its input was received.
        case inputNotReceived
        /// The n-th receive on a (source, destination, kind) channel names a different
        /// micro-batch than the n-th send (MPI delivers in order: no overtaking).
        case mismatchedOrder
        /// A send with no receive, or a receive with no send, on a channel.
        case unmatched
        /// Blocking sends and receives wait on each other in a cycle.
        case deadlock
        /// A stage holds more forwarded-but-not-backwarded micro-batches than allowed.
        case activationBoundExceeded
    }

    /// One stage's blocked action in a deadlock cycle.
    public struct Pending: Equatable, Sendable {
        public let stage: Int
        public let actionIndex: Int
        public let action: PipelineAction
    }

    public let kind: Kind
    public let stage: Int
    /// Index in `actions[stage]`; `nil` when the problem is an absent action.
    public let actionIndex: Int?
    public let microBatch: Int?
    public let message: String
    /// For `.deadlock`: the stages waiting on each other, each on the next, the last on the first.
    public var cycle: [Pending] = []

    public var description: String {
        var location = "stage \(stage)"
        if let actionIndex { location += ", action \(actionIndex)" }
        if let microBatch { location += ", micro-batch \(microBatch)" }
        return "pipeline schedule: \(location): \(message)"
    }
}
