import FlockNN

/// The registered kinds a training config is decoded with: layers (`model:`), losses
/// (`loss:`), optimizers (`optimizer:`) and schedules (`schedule:`). Add your own to a
/// copy of `standard` and hand it to `ConfigLoader`.
///
/// ```swift
/// var kinds = ConfigKinds.standard
/// kinds.layers.register(Scale.Spec.self)       // {type: scale, factor: 2}
/// kinds.losses.register(LogCoshLoss.self)      // loss: log_cosh
/// let config = try ConfigLoader.load(path: "model.yaml", kinds: kinds)
/// ```
public struct ConfigKinds: Sendable {
    public var layers: LayerRegistry
    public var losses: LossRegistry
    public var optimizers: OptimizerRegistry
    public var schedules: ScheduleRegistry

    public init(layers: LayerRegistry = .standard, losses: LossRegistry = .standard,
                optimizers: OptimizerRegistry = .standard, schedules: ScheduleRegistry = .standard) {
        self.layers = layers
        self.losses = losses
        self.optimizers = optimizers
        self.schedules = schedules
    }

    /// Flock's own kinds.
    public static let standard = ConfigKinds()

    /// What decoders find the registries under.
    var userInfo: [CodingUserInfoKey: any Sendable] {
        [.layerRegistry: layers, .lossRegistry: losses, .optimizerRegistry: optimizers, .scheduleRegistry: schedules]
    }
}
