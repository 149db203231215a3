import FlockTensor

/// A loss kind: what one entry of a config's `loss:` holds
/// (`{name: cross_entropy, label_smoothing: 0.1}`) and the function it computes on the
/// tape. A new kind is one type plus one line in `LossRegistry.standard` (or a user's
/// registry); nothing else switches on loss names.
///
/// Decoding reads the kind's own fields and rejects others
/// (`Self.container(decoder, CodingKeys.self)`, or `Self.rejectFields(decoder)` for none);
/// `validate(path:)` checks their ranges; encoding writes the fields that are set.
public protocol LossKind: Codable, Sendable, Equatable {
    /// The `name:` in configs, e.g. `cross_entropy`.
    static var typeName: String { get }
    /// Every field at its default (`loss: focal` in a config).
    init()
    /// Throws a `ConfigError` at `path.field` for a field out of range.
    func validate(path: String) throws
    /// How the model's output is read: metrics, predictions and the output width follow.
    var reading: OutputReading { get }
    /// The mean loss of `prediction` (B, …) against `target` on the prediction's tape.
    func callAsFunction(_ prediction: Variable, target: Tensor) -> Variable
    /// Targets for metrics from this kind's training targets (distillation's rows of
    /// label and teacher logits give the labels). Default: the targets.
    func metricTargets(_ targets: Tensor) -> Tensor
    /// How many per-class weights the kind holds, checked against the classes (default nil).
    var classWeightCount: Int? { get }
    /// Whether targets may be class distributions (B, C), as mixup makes (default false).
    var acceptsClassDistributions: Bool { get }
    /// Whether the targets are class labels read as they are (checked integers, never
    /// scaled), whatever the output: a classifier's, or a metric-learning loss on
    /// embeddings of any width (default: the reading's).
    var readsClassLabels: Bool { get }
    /// Whether the output holds a row of class logits for each target element, (B, T, V)
    /// against (B, T) token ids (a sequence cross-entropy) (default false).
    var scoresEachTarget: Bool { get }
    /// Throws a `ConfigError` at `path` when an output of `width` values per sample is not
    /// one this kind can read (default: any width is).
    func checkOutput(width: Int, path: String) throws
}

extension LossKind {
    public func validate(path: String) throws {}
    public func metricTargets(_ targets: Tensor) -> Tensor { targets }
    public var classWeightCount: Int? { nil }
    public var acceptsClassDistributions: Bool { false }
    public var readsClassLabels: Bool { reading.isClassification }
    public var scoresEachTarget: Bool { false }
    public func checkOutput(width: Int, path: String) throws {}
    /// Whether the kind compares embeddings (values of any width) with class labels (a
    /// triplet loss): no metric compares them, and the output has no set width.
    public var embedsLabels: Bool { readsClassLabels && reading == .values }
    /// The kind's name in configs.
    public var name: String { Self.typeName }

    /// Same kind and same fields.
    public func isEqual(to other: any LossKind) -> Bool { (other as? Self) == self }

    /// Decodes `Keys` of a kind, rejecting any other key but the shared ones
    /// (`loss.gamma: not a field of loss 'mse' (no fields)`).
    public static func container<Keys: CodingKey & CaseIterable>(_ decoder: any Decoder, _: Keys.Type) throws -> KeyedDecodingContainer<Keys> {
        try decoder.rejectUnknownKeys(Keys.self, alsoAllowed: LossTermConfig.sharedKeys, owner: "loss '\(typeName)'")
        return try decoder.container(keyedBy: Keys.self)
    }

    /// For a kind with no fields of its own (`mse`, `mae`): rejects any key but the shared ones.
    public static func rejectFields(_ decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: [], alsoAllowed: LossTermConfig.sharedKeys, owner: "loss '\(typeName)'")
    }
}

/// A loss kind with no fields of its own (`mse`, `mae`, `wasserstein`): decoding rejects
/// every key but the shared ones, encoding writes nothing.
public protocol FieldlessLossKind: LossKind {}

extension FieldlessLossKind {
    public init(from decoder: any Decoder) throws {
        try Self.rejectFields(decoder)
        self.init()
    }

    public func encode(to encoder: any Encoder) throws {}
}


/// How a loss reads the model's output.
public enum OutputReading: Sendable, Equatable {
    /// One logit per class, read through a softmax (accuracy from the largest).
    case classLogits
    /// One value per sample: the positive class's logit, or its probability.
    case binary(fromLogits: Bool)
    /// Values in the targets' units (regression, reconstruction).
    case values

    /// Whether targets are class indices (and accuracy-like metrics apply).
    public var isClassification: Bool { self != .values }
}
