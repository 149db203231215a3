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

    /// Weight-gradient passes run ahead of their place in the schedule, filling a wait for
    /// a receive (``EarlyWeightPasses``).
    public var earlyWeightPasses = 0

    /// Seconds and count of each kind of compute pass (F, B, W, full backward).
    public var passSeconds: [PassKind: Double] = [:]
    public var passCounts: [PassKind: Int] = [:]

    /// The stage's idle share: 1 − compute / stage time.
    public var bubble: Double { stageSeconds > 0 ? max(0, 1 - computeSeconds / stageSeconds) : 0 }

    /// A compute pass's kind, for per-kind timing.
    public enum PassKind: Hashable, Sendable {
        case forward, backwardInput, backwardWeight, backward

        init?(_ action: PipelineAction) {
            switch action {
            case .forward: self = .forward
            case .backwardInput: self = .backwardInput
            case .backwardWeight: self = .backwardWeight
            case .backward: self = .backward
            case .send, .receive: return nil
            }
        }
    }

    mutating func addPass(_ action: PipelineAction, seconds: Double) {
        guard let kind = PassKind(action) else { return }
        passSeconds[kind, default: 0] += seconds
        passCounts[kind, default: 0] += 1
    }

    /// The mean cost of each pass as the simulator takes it (a full backward split evenly
    /// into B and W when the split passes never ran), in seconds.
    public var meanCosts: PipelineCosts {
        func mean(_ kind: PassKind) -> Double? { passCounts[kind].map { passSeconds[kind]! / Double($0) } }
        let backwardHalf = mean(.backward).map { $0 / 2 }
        let forward = mean(.forward) ?? 1e-9
        return PipelineCosts(forward: max(forward, 1e-9), backwardInput: max(mean(.backwardInput) ?? backwardHalf ?? forward, 1e-9),
                             backwardWeight: max(mean(.backwardWeight) ?? backwardHalf ?? forward, 1e-9))
    }

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
