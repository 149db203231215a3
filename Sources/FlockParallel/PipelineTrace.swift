/// The last actions a stage ran, kept for the error that ends a failed pipeline step.
struct PipelineTrace {
    static let capacity = 8
    /// The last actions, oldest first, kept raw: describing an action reflects on the
    /// enum, microseconds that would count as pipeline idle time at every action.
    private var entries: [(index: Int, action: PipelineAction)] = []

    mutating func record(_ index: Int, _ action: PipelineAction) {
        if entries.count == Self.capacity { entries.removeFirst() }
        entries.append((index, action))
    }

    /// "index:action" for each recent action, for error reports.
    var recent: [String] { entries.map { "\($0.index):\($0.action)" } }
}

/// Where one stage's time went over its last optimizer step's schedules.
public struct PipelineStageProfile: Sendable, Equatable {
    /// Forward, backward and weight-gradient passes.
    public var computeSeconds = 0.0
    /// Sends and receives, waiting on neighbours included.
    public var transferSeconds = 0.0
    /// From the first action to the last.
    public var stageSeconds = 0.0
    /// The most bytes of activations the stage held at once (values recorded on the tapes
    /// of micro-batches in flight).
    public var peakActivationBytes = 0

    /// The stage's idle share: 1 − compute / stage time.
    public var bubble: Double { stageSeconds > 0 ? max(0, 1 - computeSeconds / stageSeconds) : 0 }

    public init() {}
}

/// A pipeline action that failed on this rank: names the stage, the rank, the step, the
/// micro-batch and the action, and shows the schedule with the failing action marked, the
/// action every other stage is waiting at (the schedule fixes it), and the stage's last actions.
public struct PipelineStageError: Error, CustomStringConvertible {
    public let stage: Int
    public let rank: Int
    public let step: Int
    public let microBatch: Int
    /// E.g. `1RECV_B3←2`.
    public let action: String
    public let underlying: any Error
    public let grid: String
    public let recent: [String]

    public var description: String {
        """
        pipeline stage \(stage) (rank \(rank)) failed at step \(step), micro-batch \(microBatch), action \(action): \(underlying)
        stage \(stage)'s last actions: \(recent.joined(separator: ", "))
        schedule (* marks the failing action, < where each other stage waits; every action above a mark is done):
        \(grid)
        """
    }
}
