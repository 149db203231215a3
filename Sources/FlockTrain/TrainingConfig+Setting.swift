import FlockNN
import Yams

/// Setting one field of a decoded config by its path, with a typed value: how a sweep
/// makes each trial's config from its base, keeping every other field as it is (no YAML
/// round trip of the whole config).
///
/// ```swift
/// var config = try ConfigLoader.load(path: "digits-mlp.yaml")
/// try config.set("optimizer.lr", to: .double(0.01))
/// try config.set("model[0].units", to: .int(64))
/// try config.validate()
/// ```
extension TrainingConfig {
    /// Sets the field at `path` to `value`. Throws a `ConfigError` at `path` when no
    /// settable field has that path, when the value has the wrong type, or when the field
    /// belongs to a callback the config leaves off. The config as a whole is checked by
    /// `validate()` (`setting(_:)` does both).
    ///
    /// The settable fields are `settablePaths` (by key path, typed), any field of a
    /// layer, `model[i].field` or `model[i].block[j].field`, and any field of the loss,
    /// optimizer or schedule (`loss.label_smoothing`, `loss[1].weight`, `optimizer.lr`,
    /// `schedule.name`): these are registered kinds, so the entry is re-decoded by its
    /// kind with the field changed, and its errors name the field
    /// (`model[0].units: expected a positive integer, got -2`).
    public mutating func set(_ path: String, to value: ParameterValue, kinds: ConfigKinds = .standard) throws {
        if path.hasPrefix("\(CodingKeys.model.stringValue)[") {
            try setLayerField(path, to: value, layers: kinds.layers)
            return
        }
        func within(_ key: CodingKeys) -> Bool {
            path == key.stringValue || path.hasPrefix("\(key.stringValue).") || path.hasPrefix("\(key.stringValue)[")
        }
        if within(.loss) {
            loss = try Self.setting(path, to: value, in: loss, key: CodingKeys.loss.stringValue, userInfo: kinds.userInfo)
        } else if within(.optimizer) {
            optimizer = try Self.setting(path, to: value, in: optimizer, key: CodingKeys.optimizer.stringValue, userInfo: kinds.userInfo)
        } else if within(.schedule) {
            schedule = try Self.setting(path, to: value, in: schedule, key: CodingKeys.schedule.stringValue, userInfo: kinds.userInfo)
        } else {
            try setTypedField(path, to: value)
        }
    }

    /// A field `settableFields` lists by key path.
    private mutating func setTypedField(_ path: String, to value: ParameterValue) throws {
        guard let field = Self.settableFields[path] else {
            let section = path.split(separator: ".").first.map { "\($0)." } ?? path
            let siblings = Self.settablePaths.filter { $0.hasPrefix(section) }
            let listed = siblings.isEmpty ? ["model[i].<field>", "loss.<field>", "optimizer.<field>", "schedule.<field>"] + Self.settablePaths : siblings
            throw ConfigError(path: path, "not a field that can be set (expected one of: \(listed.joined(separator: ", ")))")
        }
        try field.set(&self, value, path)
    }

    /// The config with each `path: value` set (kinds' names first, then in path order), then validated.
    public func setting(_ values: [String: ParameterValue], kinds: ConfigKinds = .standard) throws -> TrainingConfig {
        var config = self
        // A kind's name before its fields: `optimizer.name` picks the kind that
        // `optimizer.momentum` then belongs to.
        let ordered = values.keys.sorted { ($0.hasSuffix(".name") ? 0 : 1, $0) < ($1.hasSuffix(".name") ? 0 : 1, $1) }
        for path in ordered { try config.set(path, to: values[path]!, kinds: kinds) }
        try config.validate()
        return config
    }

    /// The paths `set(_:to:)` takes besides the layers' fields, sorted.
    public static var settablePaths: [String] { settableFields.keys.sorted() }

    /// A layer field: the layer list is encoded (every layer kind writes all its fields),
    /// the one field replaced, and the list decoded by the layers' kinds.
    private mutating func setLayerField(_ path: String, to value: ParameterValue, layers: LayerRegistry) throws {
        let modelKey = CodingKeys.model.stringValue
        let relative = path.dropFirst(modelKey.count)
        if let close = relative.firstIndex(of: "]"), let index = Int(relative.dropFirst().prefix(upTo: close)),
           index >= model.count {
            throw ConfigError(path: ConfigError.render([CodingKeys.model, AnyCodingKey(intValue: index)]),
                              "the model has \(model.count) layer\(model.count == 1 ? "" : "s")")
        }
        model = try Self.setting(path, to: value, in: model, key: modelKey, userInfo: ConfigKinds(layers: layers).userInfo)
    }

    /// `section` (the config's value at `key`) with the field at `path` set: encoded,
    /// the one field replaced, and decoded again by its registered kinds, whose errors
    /// name the field under `key`. Setting a kind's `name` keeps the fields the new kind
    /// also has and drops the others (they belonged to the kind it replaces: a sweep
    /// choosing between `momentum` and `adam` drops the base config's `momentum: 0.8`
    /// for Adam).
    static func setting<Section: Codable>(_ path: String, to value: ParameterValue, in section: Section, key: String,
                                          userInfo: [CodingUserInfoKey: Any]) throws -> Section {
        let encoded = try Yams.compose(yaml: try YAMLEncoder().encode(section)) ?? Node([Node]())
        var root = try ConfigLoader.set(value.node, atPath: path, in: Node([(Node(key), encoded)]))
        let entry = path.hasSuffix(".name") ? String(path.dropLast(".name".count)) : nil
        while true {
            do {
                return try decode(Section.self, from: root, key: key, userInfo: userInfo)
            } catch let error as ConfigError where entry != nil && error.isUnknownField
                        && error.path.hasPrefix(entry! + ".") && !error.path.dropFirst(entry!.count + 1).contains(where: { ".[".contains($0) }) {
                let field = Node(String(error.path.dropFirst(entry!.count + 1)))
                guard let mapping = try ConfigLoader.value(atPath: entry!, in: root)?.mapping, mapping[field] != nil else { throw error }
                root = try ConfigLoader.set(Node(mapping.filter { $0.key != field }.map { ($0.key, $0.value) }), atPath: entry!, in: root)
            }
        }
    }

    private static func decode<Section: Decodable>(_: Section.Type, from root: Node, key: String,
                                                  userInfo: [CodingUserInfoKey: Any]) throws -> Section {
        guard let node = root.mapping?[Node(key)] else { preconditionFailure("setting lost \(key)") }
        do {
            return try YAMLDecoder().decode(Section.self, from: node, userInfo: userInfo)
        } catch let error as ConfigError {
            throw error.nested(under: key)
        } catch let error as DecodingError {
            throw ConfigLoader.withFoundValue(ConfigError.from(error), error, in: node).nested(under: key)
        }
    }
}

/// How `set(_:to:)` writes one field, and how `flattenedSettings` reads it back.
struct SettableField {
    let set: (inout TrainingConfig, ParameterValue, String) throws -> Void
    /// The field's value; nil when the config leaves it unset (an optional field at the
    /// default its section chooses, or a field of a callback that is off).
    let get: (TrainingConfig) -> ParameterValue?
}

/// A field type a `ParameterValue` can be set on; nil when the value is of another kind.
protocol SettableValue {
    init?(setting value: ParameterValue)
    /// The value `init?(setting:)` reads back as this one.
    var setting: ParameterValue { get }
    /// The kind of value, in errors: `an integer`.
    static var expected: String { get }
}

extension Int: SettableValue {
    init?(setting value: ParameterValue) {
        guard case let .int(number) = value else { return nil }
        self = number
    }
    var setting: ParameterValue { .int(self) }
    static var expected: String { "an integer" }
}

extension Double: SettableValue {
    init?(setting value: ParameterValue) {
        guard let number = value.doubleValue else { return nil }
        self = number
    }
    var setting: ParameterValue { .double(self) }
    static var expected: String { "a number" }
}

extension String: SettableValue {
    init?(setting value: ParameterValue) {
        guard case let .string(text) = value else { return nil }
        self = text
    }
    var setting: ParameterValue { .string(self) }
    static var expected: String { "a string" }
}

extension Bool: SettableValue {
    /// A sweep's YAML `true`/`false` choices arrive as strings.
    init?(setting value: ParameterValue) {
        guard case let .string(text) = value, let flag = Bool(text) else { return nil }
        self = flag
    }
    var setting: ParameterValue { .string(description) }
    static var expected: String { "true or false" }
}

/// A closed choice is set from a sweep's string; another string is refused with the
/// allowed values.
extension DataConfig.Normalization: SettableValue {}
extension DataConfig.TargetNormalization: SettableValue {}
extension DataConfig.Sampling: SettableValue {}
extension DataConfig.MissingValues: SettableValue {}

extension SettableValue where Self: ConfigChoice {
    init?(setting value: ParameterValue) {
        guard case let .string(text) = value else { return nil }
        self.init(rawValue: text)
    }
    var setting: ParameterValue { .string(rawValue) }
    static var expected: String { "one of \(allowedValues.joined(separator: ", "))" }
}

extension ParameterValue {
    /// As a YAML scalar that decodes to the same value.
    var node: Node { Node(description) }
}

extension TrainingConfig {
    private typealias Keys = CodingKeys

    /// Every field `set(_:to:)` writes by key path, by its config path. Not here: `name`,
    /// the data's files and columns, `validation_split` (it changes which metrics exist),
    /// `metrics`, `parallel` (the layout must match the ranks) and `init_from`.
    static var settableFields: [String: SettableField] {
        typealias Data = DataConfig.CodingKeys
        typealias Penalty = RegularizationConfig.CodingKeys
        typealias Clip = GradientClippingConfig.CodingKeys
        typealias Callbacks = CallbacksConfig.CodingKeys
        typealias Stop = EarlyStopping.CodingKeys
        typealias Plateau = ReduceLROnPlateau.CodingKeys
        typealias Best = ModelCheckpoint.CodingKeys
        typealias NaN = TerminateOnNaN.CodingKeys
        let stopping = [Keys.callbacks, Callbacks.earlyStopping] as [any CodingKey]
        let plateau = [Keys.callbacks, Callbacks.reduceLROnPlateau] as [any CodingKey]
        let checkpoint = [Keys.callbacks, Callbacks.modelCheckpoint] as [any CodingKey]
        let nan = [Keys.callbacks, Callbacks.terminateOnNaN] as [any CodingKey]
        let hasStopping: (TrainingConfig) -> Bool = { $0.callbacks.earlyStopping != nil }
        let hasPlateau: (TrainingConfig) -> Bool = { $0.callbacks.reduceLROnPlateau != nil }
        let hasCheckpoint: (TrainingConfig) -> Bool = { $0.callbacks.modelCheckpoint != nil }
        let hasNaN: (TrainingConfig) -> Bool = { $0.callbacks.terminateOnNaN != nil }
        let fields: [(String, SettableField)] = [
            field([Keys.seed], \.seed),
            field([Keys.precision], \.precision),
            field([Keys.matrixKernels], \.matrixKernels),
            field([Keys.epochs], \.epochs),
            field([Keys.data, Data.batchSize], \.data.batchSize),
            field([Keys.data, Data.evalBatchSize], \.data.evalBatchSize),
            field([Keys.data, Data.shuffle], \.data.shuffle),
            field([Keys.data, Data.normalization], \.data.normalization),
            field([Keys.data, Data.targetNormalization], \.data.targetNormalization),
            field([Keys.data, Data.sampling], \.data.sampling),
            field([Keys.data, Data.missing], \.data.missing),
            field([Keys.data, Data.chunkRows], \.data.chunkRows),
            field([Keys.regularization, Penalty.l1], \.regularization.l1),
            field([Keys.regularization, Penalty.l2], \.regularization.l2),
            field([Keys.regularization, Penalty.maxNorm], \.regularization.maxNorm),
            field([Keys.regularization, Penalty.weightNoise], \.regularization.weightNoise),
            field([Keys.gradientClipping, Clip.maxNorm], \.gradientClipping.maxNorm),
            field([Keys.gradientClipping, Clip.maxValue], \.gradientClipping.maxValue),
            field(stopping + [Stop.patience], \.callbacks.earlyStopping!.patience, requires: hasStopping),
            field(stopping + [Stop.minDelta], \.callbacks.earlyStopping!.minDelta, requires: hasStopping),
            field(stopping + [Stop.startFromEpoch], \.callbacks.earlyStopping!.startFromEpoch, requires: hasStopping),
            field(stopping + [Stop.restoreBestWeights], \.callbacks.earlyStopping!.restoreBestWeights, requires: hasStopping),
            field(plateau + [Plateau.factor], \.callbacks.reduceLROnPlateau!.factor, requires: hasPlateau),
            field(plateau + [Plateau.patience], \.callbacks.reduceLROnPlateau!.patience, requires: hasPlateau),
            field(plateau + [Plateau.minDelta], \.callbacks.reduceLROnPlateau!.minDelta, requires: hasPlateau),
            field(plateau + [Plateau.cooldown], \.callbacks.reduceLROnPlateau!.cooldown, requires: hasPlateau),
            field(plateau + [Plateau.minLR], \.callbacks.reduceLROnPlateau!.minLR, requires: hasPlateau),
            field(checkpoint + [Best.saveBest], \.callbacks.modelCheckpoint!.saveBest, requires: hasCheckpoint),
            field(nan + [NaN.lrFactor], \.callbacks.terminateOnNaN!.lrFactor, requires: hasNaN),
            field(nan + [NaN.maxRollbacks], \.callbacks.terminateOnNaN!.maxRollbacks, requires: hasNaN),
            field([Keys.callbacks, Callbacks.csvLogger], \.callbacks.csvLogger),
            field([Keys.callbacks, Callbacks.tensorBoard], \.callbacks.tensorBoard),
        ]
        return Dictionary(uniqueKeysWithValues: fields)
    }

    /// A field; `requires` says whether the callback it belongs to is on (its key path
    /// unwraps the callback, so it is only written when it is).
    private static func field<Value: SettableValue>(_ keys: [any CodingKey], _ keyPath: WritableKeyPath<TrainingConfig, Value>,
                                                    requires present: ((TrainingConfig) -> Bool)? = nil) -> (String, SettableField) {
        (ConfigError.render(keys), SettableField(set: { config, value, path in
            if let present, !present(config) {
                throw ConfigError(path: path, "\(ConfigError.render(keys.dropLast())) is off in this config; turn it on there to set its fields")
            }
            config[keyPath: keyPath] = try typed(value, Value.self, path)
        }, get: { config in
            if let present, !present(config) { return nil }
            return config[keyPath: keyPath].setting
        }))
    }

    /// An optional field (nil: the default its section chooses).
    private static func field<Value: SettableValue>(_ keys: [any CodingKey], _ keyPath: WritableKeyPath<TrainingConfig, Value?>)
        -> (String, SettableField) {
        (ConfigError.render(keys), SettableField(set: { config, value, path in
            config[keyPath: keyPath] = try typed(value, Value.self, path)
        }, get: { $0[keyPath: keyPath]?.setting }))
    }

    private static func typed<Value: SettableValue>(_ value: ParameterValue, _: Value.Type, _ path: String) throws -> Value {
        guard let typed = Value(setting: value) else { throw ConfigError(path: path, "expected \(Value.expected), got \(value)") }
        return typed
    }
}
