import FlockNN

/// `callbacks:` in a config. ModelCheckpoint (keep the best by val_loss and the newest)
/// and TerminateOnNaN (stop) are on by default; the others when listed.
///
/// ```yaml
/// callbacks:
///   early_stopping: {monitor: val_loss, patience: 5, restore_best_weights: true}
///   reduce_lr_on_plateau: {factor: 0.5, patience: 2}
///   model_checkpoint: {monitor: val_accuracy, save_best: 2}
///   terminate_on_nan: {action: rollback, lr_factor: 0.5}
///   csv_logger: true
///   tensorboard: true
///   mlflow: {tracking_uri: http://localhost:5000, experiment: digits}
/// ```
public struct CallbacksConfig: Codable, Sendable, Equatable {
    public var earlyStopping: EarlyStopping?
    public var reduceLROnPlateau: ReduceLROnPlateau?
    public var modelCheckpoint: ModelCheckpoint?
    public var terminateOnNaN: TerminateOnNaN?
    /// Also write `metrics.csv` beside `metrics.jsonl`.
    public var csvLogger: Bool
    /// Also write TensorBoard event files of the per-epoch scalars into the run directory.
    public var tensorBoard: Bool
    /// Also track the run on an MLflow server (`MLflowConfig`).
    public var mlflow: MLflowConfig?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case earlyStopping = "early_stopping"
        case reduceLROnPlateau = "reduce_lr_on_plateau"
        case modelCheckpoint = "model_checkpoint"
        case terminateOnNaN = "terminate_on_nan"
        case csvLogger = "csv_logger"
        case tensorBoard = "tensorboard"
        case mlflow
    }

    public init() {
        modelCheckpoint = ModelCheckpoint()
        terminateOnNaN = TerminateOnNaN()
        csvLogger = false
        tensorBoard = false
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        earlyStopping = try c.decodeIfPresent(EarlyStopping.self, forKey: .earlyStopping)
        reduceLROnPlateau = try c.decodeIfPresent(ReduceLROnPlateau.self, forKey: .reduceLROnPlateau)
        // `model_checkpoint: false` turns checkpoints off; absent means the default.
        if (try? c.decode(Bool.self, forKey: .modelCheckpoint)) == false {
            modelCheckpoint = nil
        } else {
            modelCheckpoint = try c.decodeIfPresent(ModelCheckpoint.self, forKey: .modelCheckpoint) ?? ModelCheckpoint()
        }
        // `terminate_on_nan: false` trains on through non-finite values; `true` is the default.
        if let enabled = try? c.decode(Bool.self, forKey: .terminateOnNaN) {
            terminateOnNaN = enabled ? TerminateOnNaN() : nil
        } else {
            terminateOnNaN = try c.decodeIfPresent(TerminateOnNaN.self, forKey: .terminateOnNaN) ?? TerminateOnNaN()
        }
        csvLogger = try c.value(.csvLogger, or: false)
        tensorBoard = try c.value(.tensorBoard, or: false)
        // `mlflow: true` takes the server from MLFLOW_TRACKING_URI; `false` is off.
        if let enabled = try? c.decode(Bool.self, forKey: .mlflow) {
            mlflow = enabled ? MLflowConfig() : nil
        } else {
            mlflow = try c.decodeIfPresent(MLflowConfig.self, forKey: .mlflow)
        }
    }

    /// A callback that is on by default and switched off is written as `false`, so the
    /// resolved config (and a resume's comparison with it) keeps it off.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(earlyStopping, forKey: .earlyStopping)
        try c.encodeIfPresent(reduceLROnPlateau, forKey: .reduceLROnPlateau)
        if let modelCheckpoint { try c.encode(modelCheckpoint, forKey: .modelCheckpoint) } else { try c.encode(false, forKey: .modelCheckpoint) }
        if let terminateOnNaN { try c.encode(terminateOnNaN, forKey: .terminateOnNaN) } else { try c.encode(false, forKey: .terminateOnNaN) }
        try c.encode(csvLogger, forKey: .csvLogger)
        try c.encode(tensorBoard, forKey: .tensorBoard)
        try c.encodeIfPresent(mlflow, forKey: .mlflow)
    }

    func validate(path: String, config: TrainingConfig) throws {
        let monitorable = MonitorMode.monitorable(config)
        try earlyStopping?.validate(path: "\(path).early_stopping", monitorable: monitorable)
        try reduceLROnPlateau?.validate(path: "\(path).reduce_lr_on_plateau", monitorable: monitorable)
        try modelCheckpoint?.validate(path: "\(path).model_checkpoint", monitorable: monitorable)
        try terminateOnNaN?.validate(path: "\(path).terminate_on_nan")
        try mlflow?.validate(path: "\(path).mlflow")
        if terminateOnNaN?.action == .rollback && modelCheckpoint == nil {
            throw ConfigError(path: "\(path).terminate_on_nan.action", "rollback needs checkpoints, but model_checkpoint is off")
        }
    }

    /// The epoch-end callbacks it lists, in the order they run.
    public var epochEndCallbacks: [any Callback] {
        var result: [any Callback] = []
        if let earlyStopping { result.append(earlyStopping) }
        if let reduceLROnPlateau { result.append(reduceLROnPlateau) }
        return result
    }
}
