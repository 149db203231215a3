import Foundation

/// What callbacks may change at the end of an epoch. Callbacks run on rank 0; the trainer
/// broadcasts the result, so every rank stops at the same step with the same learning rate.
public struct TrainingControl: Sendable {
    /// The learning rate in force now (schedule × `learningRateScale`).
    public let learningRate: Double
    /// Factor on the scheduled learning rate; ReduceLROnPlateau multiplies it.
    public var learningRateScale: Double
    /// End training after this epoch.
    public var stopTraining = false
    /// Keep a copy of the current weights as the best so far (put back at the end of
    /// training when a callback `restoresBestWeights`).
    public var captureBestWeights = false

    public init(learningRate: Double, learningRateScale: Double) {
        self.learningRate = learningRate
        self.learningRateScale = learningRateScale
    }
}

/// Something that runs after every epoch with the epoch's metrics (Keras' `Callback`).
/// Its `State` goes into every checkpoint under `stateKey` and comes back on resume, so a
/// user's callback resumes exactly like EarlyStopping does.
///
/// ```swift
/// struct StopAtAccuracy: Callback {
///     struct State: Codable, Sendable { var epochsAbove = 0 }
///     var state = State()
///     let stateKey = "stop_at_accuracy"
///     mutating func epochEnded(_ epoch: Int, metrics: [String: Double], control: inout TrainingControl) {
///         state.epochsAbove = (metrics["val_accuracy"] ?? 0) >= 0.98 ? state.epochsAbove + 1 : 0
///         control.stopTraining = state.epochsAbove >= 2
///     }
/// }
/// ```
public protocol Callback: Sendable {
    associatedtype State: Codable & Sendable
    /// The key of its state in a checkpoint's `state.json` (`callbacks.<key>`); unique per trainer.
    var stateKey: String { get }
    var state: State { get set }
    /// Called on rank 0 after 0-based epoch `epoch` with its training and `val_` metrics.
    mutating func epochEnded(_ epoch: Int, metrics: [String: Double], control: inout TrainingControl)
    /// Whether best weights captured through `TrainingControl` go back into the model
    /// when training ends.
    var restoresBestWeights: Bool { get }
}

extension Callback {
    public var restoresBestWeights: Bool { false }

    /// The state as JSON, for a checkpoint.
    func encodedState() throws -> JSONValue {
        try JSONValue(encoding: state)
    }

    /// Takes back a state saved by `encodedState`.
    mutating func restoreState(_ saved: JSONValue) throws {
        state = try saved.decode(State.self)
    }
}

extension EarlyStopping: Callback {
    public var stateKey: String { "early_stopping" }
    public var restoresBestWeights: Bool { restoreBestWeights }

    public mutating func epochEnded(_ epoch: Int, metrics: [String: Double], control: inout TrainingControl) {
        let decision = epochEnded(epoch, metrics: metrics)
        control.stopTraining = control.stopTraining || decision.stop
        control.captureBestWeights = control.captureBestWeights || decision.captureWeights
    }
}

extension ReduceLROnPlateau: Callback {
    public var stateKey: String { "reduce_lr_on_plateau" }

    public mutating func epochEnded(_ epoch: Int, metrics: [String: Double], control: inout TrainingControl) {
        let current = control.learningRate
        if let reduced = epochEnded(metrics: metrics, learningRate: current), current > 0 {
            control.learningRateScale = control.learningRateScale * reduced / current
        }
    }
}
