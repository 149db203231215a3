import FlockNN
import FlockStore

/// What to do when the loss or the gradients stop being finite: stop with a message
/// naming the step (Keras' `TerminateOnNaN`), or roll back to the last checkpoint and go
/// on with the learning rate multiplied by `lr_factor` (at most `max_rollbacks` times).
public struct TerminateOnNaN: Codable, Sendable, Equatable {
    public enum Action: String, Codable, Sendable, CaseIterable { case stop, rollback }

    public var action: Action
    public var lrFactor: Double
    public var maxRollbacks: Int

    public struct State: Codable, Sendable, Equatable {
        public var rollbacks = 0
    }

    public var state = State()

    enum CodingKeys: String, CodingKey, CaseIterable {
        case action
        case lrFactor = "lr_factor"
        case maxRollbacks = "max_rollbacks"
    }

    public init(action: Action = .stop, lrFactor: Double = 0.5, maxRollbacks: Int = 3) {
        self.action = action
        self.lrFactor = lrFactor
        self.maxRollbacks = maxRollbacks
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(action: try c.value(.action, or: .stop), lrFactor: try c.value(.lrFactor, or: 0.5),
                  maxRollbacks: try c.value(.maxRollbacks, or: 3))
    }

    func validate(path: String) throws {
        try Check.inRange(lrFactor, 0, 1, "\(path).lr_factor")
        try Check.positive(lrFactor, "\(path).lr_factor")
        try Check.within(maxRollbacks, 0, 1000, "\(path).max_rollbacks")
    }
}

/// Training ended because the loss or gradients stopped being finite.
public struct NonFiniteLossError: Error, CustomStringConvertible {
    public let step: Int
    public let epoch: Int
    public let batch: Int
    public let detail: String
    public var description: String {
        "training stopped: \(detail) at step \(step) (epoch \(epoch), batch \(batch))"
    }
}
