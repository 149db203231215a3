import FlockComm
import FlockData
import FlockNN
import FlockParallel
import FlockStore
import FlockTensor
import FlockTestSupport
@testable import FlockTrain

/// A config as a user writes it, before decoding: the tree `ConfigGenerator` builds,
/// written out as YAML flow (JSON is YAML).
indirect enum ConfigSource {
    case number(Double)
    case integer(Int)
    case bool(Bool)
    case text(String)
    case list([ConfigSource])
    case map([(String, ConfigSource)])

    var yaml: String {
        switch self {
        case let .number(value): return "\(value)"
        case let .integer(value): return "\(value)"
        case let .bool(value): return "\(value)"
        case let .text(value): return Self.quoted(value)
        case let .list(items): return "[" + items.map(\.yaml).joined(separator: ", ") + "]"
        case let .map(pairs): return "{" + pairs.map { "\(Self.quoted($0.0)): \($0.1.yaml)" }.joined(separator: ", ") + "}"
        }
    }

    private static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\t", with: "\\t") + "\""
    }

    /// Every key path that holds a value (`model[2].block[0].units`), with the `type` of
    /// the layer entry each key of a layer belongs to.
    func keyPaths(prefix: String = "") -> [String] {
        switch self {
        case let .map(pairs):
            return pairs.flatMap { key, value in
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                return [path] + value.keyPaths(prefix: path)
            }
        case let .list(items):
            return items.enumerated().flatMap { $0.element.keyPaths(prefix: "\(prefix)[\($0.offset)]") }
        default:
            return []
        }
    }
}

/// Random valid training configs that set every field some of the time, every layer
/// kind, every optional both present and absent: the input of the config round-trip
/// property. Values are drawn from each field's valid range at full Double precision.
struct ConfigGenerator {
    var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(seed: seed) }

    /// Layer kinds a generated model may hold, with their fields.
    static let layerKinds = LayerRegistry.standard.kinds.map { $0.typeName }

    mutating func config() -> ConfigSource {
        let loss = random.pick(LossRegistry.standard.names)
        let kind = LossRegistry.standard.kind(named: loss)!.init()
        let classification = kind.reading.isClassification
        let validationSplit: Double? = random.coin() ? nil : (random.coin() ? 0 : Double.random(in: 0..<0.9, using: &random))
        let metricNames = MetricName.allCases.filter { $0.isClassification == classification }.map(\.rawValue)
        // A loss on embeddings and labels (triplet) has no metrics by default.
        let metrics = random.coin() || kind.embedsLabels ? nil : metricNames.filter { _ in random.coin() }
        let resolved = metrics.flatMap { $0.isEmpty ? nil : $0 } ?? (kind.embedsLabels ? [] : [classification ? "accuracy" : "mse"])
        let monitorable = ["loss"] + resolved + ((validationSplit ?? 0.2) > 0 ? (["loss"] + resolved).map { "val_\($0)" } : [])
        var fields: [(String, ConfigSource)] = [
            ("data", data(loss: loss, classification: classification, validationSplit: validationSplit)),
            ("model", .list((0..<(1 + random.below(4))).map { _ in layer(depth: 0) })),
        ]
        optionally("name", &fields) { .text($0.random.pick(["run", "digits-mlp", "sweep_7", "a b"])) }
        optionally("seed", &fields) { .integer($0.random.below(1 << 31)) }
        optionally("epochs", &fields) { .integer(1 + $0.random.below(1000)) }
        if random.below(4) == 0 && loss != "binary_cross_entropy" {
            // A weighted sum: terms of one kind read the output alike (binary terms only
            // when their from_logits agree, which this does not arrange).
            fields.append(("loss", .list((0..<(1 + random.below(2))).map { _ in lossSource(loss) })))
        } else if random.coin() || loss == "distillation" { fields.append(("loss", lossSource(loss))) } else if loss != "cross_entropy" {
            fields.append(("loss", .map([("name", .text(loss))])))
        }
        if let metrics { fields.append(("metrics", .list(metrics.map { .text($0) }))) }
        optionally("optimizer", &fields) { $0.optimizerSource() }
        optionally("schedule", &fields) { $0.scheduleSource() }
        optionally("regularization", &fields) { generator in
            generator.mapOf([("l1", { .number($0.nonNegative()) }), ("l2", { .number($0.nonNegative()) }),
                             ("max_norm", { .number($0.positive()) }), ("weight_noise", { .number($0.nonNegative()) })])
        }
        optionally("gradient_clipping", &fields) { generator in
            generator.mapOf([("max_norm", { .number($0.positive()) }), ("max_value", { .number($0.positive()) })])
        }
        optionally("precision", &fields) { .text(["float32", "bf16", "auto"][$0.random.below(3)]) }
        optionally("matrix_kernels", &fields) { .text(["auto", "timed", "openblas", "onednn"][$0.random.below(4)]) }
        optionally("parallel", &fields) { $0.parallelSource() }
        optionally("elastic", &fields) { generator in
            generator.mapOf([("min_ranks", { .integer(1 + $0.random.below(8)) }), ("max_restarts", { .integer($0.random.below(10)) }),
                             ("snapshot_every_steps", { .integer(1 + $0.random.below(100)) }),
                             ("stall_seconds", { .number(Double.random(in: 1...3_600, using: &$0.random)) }),
                             ("host_wait_seconds", { .number(Double.random(in: 0...600, using: &$0.random)) })])
        }
        optionally("phases", &fields) { generator in
            .list([.map([("name", .text("first")), ("parameters", .list([.text("layers.0")])), ("optimizer", generator.optimizerSource())]),
                   .map([("name", .text("rest")), ("parameters", .list([.text("layers")]))]
                        + generator.fieldsOf([("every", { .integer(1 + $0.random.below(8)) }), ("clip_weights", { .number($0.positive()) }),
                                            ("schedule", { $0.scheduleSource() })]))])
        }
        optionally("callbacks", &fields) { $0.callbacksSource(monitorable: monitorable) }
        optionally("init_from", &fields) { generator in
            .map([("checkpoint", .text("/runs/base/checkpoints/best"))]
                 + (generator.random.coin() ? [("exclude", .list([.text("layers.3.*"), .text("layers.0.weight")].filter { _ in generator.random.coin() }))] : []))
        }
        return .map(shuffled(fields))
    }

    // MARK: Sections

    private mutating func data(loss: String, classification: Bool, validationSplit: Double?) -> ConfigSource {
        let idx = random.below(4) == 0
        var fields: [(String, ConfigSource)] = [("source", .text(idx ? "/data/train-images.idx" : "/data/train.csv"))]
        if idx { fields.append(("labels", .text("/data/train-labels.idx"))) }
        if idx ? random.coin() : random.below(4) == 0 { fields.append(("format", .text(idx ? "idx" : "csv"))) }
        if let validationSplit { fields.append(("validation_split", .number(validationSplit))) }
        optionally("header", &fields) { .bool($0.random.coin()) }
        optionally("label_column", &fields) { $0.random.coin() ? .integer($0.random.below(11) - 5) : .text($0.random.pick(["label", "class", "target y"])) }
        optionally("normalization", &fields) { .text($0.random.pick(Normalizer.Method.allCases.map(\.rawValue))) }
        optionally("batch_size", &fields) { .integer(1 + $0.random.below(4096)) }
        optionally("eval_batch_size", &fields) { .integer(1 + $0.random.below(4096)) }
        optionally("shuffle", &fields) { .bool($0.random.coin()) }
        switch random.below(3) {
        case 0: fields.append(("shape", .list((0..<(1 + random.below(3))).map { _ in .integer(1 + random.below(64)) })))
        case 1:
            var sequence: [(String, ConfigSource)] = [("steps", .integer(1 + random.below(100)))]
            switch random.below(3) {
            case 0: sequence.append(("features", .integer(1 + random.below(64))))
            case 1: sequence.append(("tokens", .integer(1 + random.below(30_000))))
            default: break
            }
            fields.append(("sequence", .map(sequence)))
        default: break
        }
        optionally("augment", &fields) { generator in
            generator.mapOf([("horizontal_flip", { .bool($0.random.coin()) }), ("vertical_flip", { .bool($0.random.coin()) }),
                             ("crop_padding", { .integer($0.random.below(9)) }), ("noise", { .number($0.nonNegative()) }),
                             ("mixup", { .number($0.nonNegative()) })])
        }
        optionally("target_normalization", &fields) { .text($0.random.pick(["standard", "none"])) }
        optionally("fold", &fields) { generator in
            let count = 2 + generator.random.below(9)
            return .map([("index", .integer(generator.random.below(count))), ("count", .integer(count))])
        }
        let balancedAllowed = classification && loss != "distillation"
        let sampling = balancedAllowed && random.coin() ? "balanced" : "uniform"
        if sampling == "balanced" || random.coin() { fields.append(("sampling", .text(sampling))) }
        optionally("delimiter", &fields) { .text($0.random.pick([",", ";", "\t", "|"])) }
        optionally("missing", &fields) { .text($0.random.pick(["error", "mean"])) }
        if sampling == "uniform", loss != "distillation" { optionally("streaming", &fields) { .bool($0.random.coin()) } }
        optionally("chunk_rows", &fields) { .integer(1 + $0.random.below(100_000)) }
        return .map(shuffled(fields))
    }

    private mutating func lossSource(_ name: String) -> ConfigSource {
        var fields: [(String, ConfigSource)] = [("name", .text(name))]
        switch name {
        case "cross_entropy":
            optionally("label_smoothing", &fields) { .number(Double.random(in: 0..<1, using: &$0.random)) }
            optionally("class_weights", &fields) { generator in
                .list((0..<(1 + generator.random.below(10))).map { _ in .number(Double.random(in: 0...10, using: &generator.random)) })
            }
        case "binary_cross_entropy": optionally("from_logits", &fields) { .bool($0.random.coin()) }
        case "huber": optionally("delta", &fields) { .number(Double.random(in: 0.001...10, using: &$0.random)) }
        case "focal": optionally("gamma", &fields) { .number(Double.random(in: 0..<100, using: &$0.random)) }
        case "contrastive": optionally("margin", &fields) { .number($0.positive()) }
        case "sequence_cross_entropy": optionally("padding_id", &fields) { .integer($0.random.below(100)) }
        case "triplet":
            optionally("margin", &fields) { .number($0.positive()) }
            optionally("mining", &fields) { .text($0.random.pick(["hard", "semi_hard"])) }
        case "distillation":
            fields.append(("teacher", .text("/runs/teacher")))
            optionally("temperature", &fields) { .number(Double.random(in: 0.01...1000, using: &$0.random)) }
            optionally("alpha", &fields) { .number(Double.random(in: 0...1, using: &$0.random)) }
        default: break
        }
        optionally("weight", &fields) { .number(Double.random(in: 0.001...1000, using: &$0.random)) }
        optionally("target", &fields) { _ in .text("targets") }
        optionally("output", &fields) { _ in .text("output") }
        return .map(shuffled(fields))
    }

    private mutating func optimizerSource() -> ConfigSource {
        let name = random.pick(OptimizerRegistry.standard.names)
        var fields: [(String, ConfigSource)] = [("name", .text(name))]
        optionally("lr", &fields) { .number(Double.random(in: 1e-6...1, using: &$0.random)) }
        optionally("weight_decay", &fields) { .number(Double.random(in: 0...0.1, using: &$0.random)) }
        // Each kind's own fields. Nesterov needs momentum > 0; values stay clear of 1 so
        // they narrow to Float below it.
        if ["sgd", "momentum", "nesterov"].contains(name) {
            optionally("momentum", &fields) { .number(Double.random(in: (name == "nesterov" ? 0.01 : 0)..<0.99, using: &$0.random)) }
        }
        if ["adam", "adamw"].contains(name) {
            optionally("beta1", &fields) { .number(Double.random(in: 0..<0.99, using: &$0.random)) }
            optionally("beta2", &fields) { .number(Double.random(in: 0..<0.99, using: &$0.random)) }
        }
        if ["adam", "adamw", "adagrad", "rmsprop"].contains(name) {
            optionally("epsilon", &fields) { .number(Double.random(in: 1e-10...1e-3, using: &$0.random)) }
        }
        if name == "rmsprop" { optionally("alpha", &fields) { .number(Double.random(in: 0..<0.99, using: &$0.random)) } }
        return .map(shuffled(fields))
    }

    private mutating func scheduleSource() -> ConfigSource {
        let name = random.pick(ScheduleRegistry.standard.names)
        var fields: [(String, ConfigSource)] = [("name", .text(name))]
        optionally("warmup_epochs", &fields) { .integer($0.random.below(10)) }
        if name == "step" { optionally("step_size", &fields) { .integer(1 + $0.random.below(100)) } }
        if ["step", "exponential"].contains(name) { optionally("gamma", &fields) { .number(Double.random(in: 0.01..<1, using: &$0.random)) } }
        if name == "cosine" { optionally("min_lr", &fields) { .number($0.nonNegative()) } }
        return .map(shuffled(fields))
    }

    private mutating func parallelSource() -> ConfigSource {
        let pipeline = random.coin() ? 1 : 1 + random.below(4), tensor = random.coin() ? 1 : 1 + random.below(4)
        var fields: [(String, ConfigSource)] = []
        if pipeline > 1 || random.coin() { fields.append(("pipeline", .integer(pipeline))) }
        if tensor > 1 || random.coin() { fields.append(("tensor", .integer(tensor))) }
        optionally("schedule", &fields) { .text($0.random.pick(PipelineScheduleKind.allCases.map(\.rawValue))) }
        optionally("micro_batches", &fields) { .integer(1 + $0.random.below(16)) }
        optionally("partition", &fields) { generator in
            switch generator.random.below(3) {
            case 0: return .text("parameters")
            case 1: return .text("time")
            default: return .list((0..<(1 + generator.random.below(3))).map { .integer(1 + 2 * $0 + generator.random.below(2)) })
            }
        }
        optionally("bucket_mb", &fields) { .number(Double.random(in: 0.001...100, using: &$0.random)) }
        optionally("accumulate", &fields) { .integer(1 + $0.random.below(8)) }
        optionally("overlap", &fields) { .bool($0.random.coin()) }
        optionally("collective_timeout", &fields) { .number(Double.random(in: 0.5...600, using: &$0.random)) }
        optionally("recompute", &fields) { .text($0.random.pick(ParallelConfig.Recompute.allowedValues)) }
        optionally("zero", &fields) { .integer($0.random.below(2)) }
        // Off only at zero 3, which these configs do not reach.
        optionally("prefetch", &fields) { _ in .bool(true) }
        if pipeline == 1 && tensor == 1 {
            optionally("compression", &fields) { .text($0.random.pick(WireCompression.allCases.map(\.rawValue))) }
        }
        return .map(shuffled(fields))
    }

    private mutating func callbacksSource(monitorable: [String]) -> ConfigSource {
        var fields: [(String, ConfigSource)] = []
        let modes: [ConfigSource] = ["auto", "min", "max"].map { .text($0) }
        // Without a validation split the default monitor (val_loss) is not there: name one.
        func withMonitor(_ source: ConfigSource, _ generator: inout ConfigGenerator) -> ConfigSource {
            guard case let .map(pairs) = source, !monitorable.contains("val_loss"), !pairs.contains(where: { $0.0 == "monitor" }) else { return source }
            return .map(pairs + [("monitor", .text(generator.random.pick(monitorable)))])
        }
        optionally("early_stopping", &fields) { generator in
            withMonitor(generator.mapOf([("monitor", { .text($0.random.pick(monitorable)) }), ("min_delta", { .number($0.nonNegative()) }),
                             ("patience", { .integer($0.random.below(20)) }), ("mode", { $0.random.pick(modes) }),
                             ("baseline", { .number(Double.random(in: -10...10, using: &$0.random)) }),
                             ("restore_best_weights", { .bool($0.random.coin()) }), ("start_from_epoch", { .integer($0.random.below(10)) })]),
                        &generator)
        }
        optionally("reduce_lr_on_plateau", &fields) { generator in
            withMonitor(generator.mapOf([("monitor", { .text($0.random.pick(monitorable)) }),
                             ("factor", { .number(Double.random(in: 0.01..<1, using: &$0.random)) }),
                             ("patience", { .integer($0.random.below(20)) }), ("mode", { $0.random.pick(modes) }),
                             ("min_delta", { .number($0.nonNegative()) }), ("cooldown", { .integer($0.random.below(5)) }),
                             ("min_lr", { .number($0.nonNegative()) })]),
                        &generator)
        }
        let checkpoints = random.below(4) != 0
        if !checkpoints { fields.append(("model_checkpoint", .bool(false))) } else {
            optionally("model_checkpoint", &fields) { generator in
                generator.mapOf([("monitor", { .text($0.random.pick(monitorable)) }), ("mode", { $0.random.pick(modes) }),
                                 ("save_best", { .integer($0.random.below(5)) }), ("every_n_steps", { .integer(1 + $0.random.below(1000)) })])
            }
        }
        optionally("terminate_on_nan", &fields) { generator in
            guard generator.random.below(3) != 0 else { return .bool(false) }
            let actions = checkpoints ? ["stop", "rollback"] : ["stop"]
            return generator.mapOf([("action", { .text($0.random.pick(actions)) }),
                                    ("lr_factor", { .number(Double.random(in: 0.01..<1, using: &$0.random)) }),
                                    ("max_rollbacks", { .integer($0.random.below(1001)) })])
        }
        optionally("csv_logger", &fields) { .bool($0.random.coin()) }
        optionally("tensorboard", &fields) { .bool($0.random.coin()) }
        optionally("mlflow", &fields) { generator in
            generator.mapOf([("tracking_uri", { .text($0.random.coin() ? "http://127.0.0.1:5000" : "https://mlflow.example:\(1 + $0.random.below(65535))") }),
                             ("experiment", { .text("exp-\($0.random.below(100))") }),
                             ("request_timeout", { .number(Double.random(in: 0.1..<600, using: &$0.random)) }),
                             ("flush_timeout", { .number($0.nonNegative()) })])
        }
        return .map(shuffled(fields))
    }

    // MARK: Layers

    /// One `model:` entry of a random kind; containers nest at most two deep.
    mutating func layer(depth: Int) -> ConfigSource {
        let kinds = depth < 2 ? Self.layerKinds : Self.layerKinds.filter { !["sequential", "residual"].contains($0) }
        let type = random.pick(kinds)
        var fields: [(String, ConfigSource)] = [("type", .text(type))]
        optionally("trainable", &fields) { .bool($0.random.coin()) }
        optionally("lr_multiplier", &fields) { .number(Double.random(in: 0...10, using: &$0.random)) }
        optionally("recompute", &fields) { .bool($0.random.coin()) }
        fields += layerFields(type, depth: depth)
        return .map(shuffled(fields))
    }

    private mutating func layerFields(_ type: String, depth: Int) -> [(String, ConfigSource)] {
        let activations = Activation.allCases.map { ConfigSource.text($0.rawValue) }
        let initializers = ["zeros", "ones", "uniform", "normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal"]
            .map { ConfigSource.text($0) }
        let paddings = WindowGeometry.Padding.allCases.map { ConfigSource.text($0.rawValue) }
        func size(_ upTo: Int) -> (inout ConfigGenerator) -> ConfigSource { { .integer(1 + $0.random.below(upTo)) } }
        func pair(_ upTo: Int) -> (inout ConfigGenerator) -> ConfigSource {
            { generator in
                let rows = 1 + generator.random.below(upTo), columns = 1 + generator.random.below(upTo)
                return generator.random.coin() ? .integer(rows) : .list([.integer(rows), .integer(rows == columns ? columns + 1 : columns)])
            }
        }
        let flag: (inout ConfigGenerator) -> ConfigSource = { .bool($0.random.coin()) }
        let fraction: (inout ConfigGenerator) -> ConfigSource = { .number(Double.random(in: 0..<1, using: &$0.random)) }
        let epsilon: (inout ConfigGenerator) -> ConfigSource = { .number(Double.random(in: 1e-8...1e-2, using: &$0.random)) }
        let alpha: (inout ConfigGenerator) -> ConfigSource = { .number($0.nonNegative()) }
        func layers(_ generator: inout ConfigGenerator) -> ConfigSource {
            .list((0..<(1 + generator.random.below(3))).map { _ in generator.layer(depth: depth + 1) })
        }
        switch type {
        case "dense":
            return [("units", .integer(1 + random.below(512)))] + fieldsOf([
                ("activation", { $0.random.pick(activations) }), ("alpha", alpha), ("use_bias", flag),
                ("initializer", { $0.random.pick(initializers) })])
        case "dropout": return [("rate", fraction(&self))]
        case "activation": return [("activation", random.pick(activations))] + fieldsOf([("alpha", alpha)])
        case "sequential": return [("layers", layers(&self))]
        case "residual": return [("block", layers(&self))] + fieldsOf([("projection", layers)])
        case "conv2d":
            return [("filters", .integer(1 + random.below(64))), ("kernel", pair(7)(&self))] + fieldsOf([
                ("stride", pair(3)), ("padding", { $0.random.pick(paddings) }), ("activation", { $0.random.pick(activations) }),
                ("alpha", alpha), ("groups", size(4)), ("use_bias", flag), ("initializer", { $0.random.pick(initializers) })])
        case "conv1d":
            return [("filters", .integer(1 + random.below(64))), ("kernel", .integer(1 + random.below(7)))] + fieldsOf([
                ("dilation", size(8)), ("stride", size(4)), ("padding", { .text($0.random.pick(Convolution1DGeometry.Padding.allCases).rawValue) }),
                ("groups", size(4)), ("activation", { $0.random.pick(activations) }), ("alpha", alpha), ("use_bias", flag),
                ("initializer", { $0.random.pick(initializers) })])
        case "separable_conv2d":
            return [("filters", .integer(1 + random.below(64))), ("kernel", .integer(1 + random.below(7)))] + fieldsOf([
                ("stride", size(3)), ("padding", { $0.random.pick(paddings) }), ("depth_multiplier", size(4)),
                ("activation", { $0.random.pick(activations) }), ("use_bias", flag)])
        case "max_pool2d", "avg_pool2d":
            return fieldsOf([("pool", size(4)), ("stride", size(4)), ("padding", { $0.random.pick(paddings) })])
        case "batch_norm": return fieldsOf([("momentum", fraction), ("epsilon", epsilon), ("synchronized", flag)])
        case "layer_norm": return fieldsOf([("axes", { .text($0.random.pick(["last", "all"])) }), ("epsilon", epsilon)])
        case "group_norm": return [("groups", .integer(1 + random.below(8)))] + fieldsOf([("epsilon", epsilon)])
        case "embedding":
            let vocabulary = 1 + random.below(30_000)
            return [("vocabulary", .integer(vocabulary)), ("units", .integer(1 + random.below(256)))]
                + fieldsOf([("padding_id", { .integer($0.random.below(vocabulary)) })])
        case "positional_encoding": return fieldsOf([("kind", { .text($0.random.pick(["sinusoidal", "learned"])) })])
        case "multi_head_attention": return [("heads", .integer(1 + random.below(16)))] + fieldsOf([("causal", flag), ("use_bias", flag)])
        case "transformer_encoder":
            return [("heads", .integer(1 + random.below(16)))] + fieldsOf([
                ("mlp_units", size(1024)), ("dropout", fraction), ("causal", flag),
                ("activation", { .text($0.random.pick(Activation.allCases.filter { $0 != .softmax }).rawValue) })])
        case "transformer_decoder":
            return [("heads", .integer(1 + random.below(16)))] + fieldsOf([
                ("mlp_units", size(1024)), ("dropout", fraction),
                ("activation", { .text($0.random.pick(Activation.allCases.filter { $0 != .softmax }).rawValue) })])
        case "sequence_pool": return fieldsOf([("mode", { .text($0.random.pick(["mean", "last", "first"])) })])
        case "simple_rnn", "lstm", "gru": return [("units", .integer(1 + random.below(256)))] + fieldsOf([("return_sequences", flag)])
        case "gaussian_noise": return [("stddev", .number(nonNegative()))]
        case "sampling": return [("kl_weight", .number(nonNegative()))] + fieldsOf([("kl_warmup_steps", size(1000))])
        case "latent_noise": return [("units", .integer(1 + random.below(64)))]
        default: return []  // flatten, global_avg_pool, stop_gradient: no fields of their own
        }
    }

    // MARK: Values

    /// A number ≥ 0: often 0, otherwise over several orders of magnitude.
    private mutating func nonNegative() -> Double { random.below(5) == 0 ? 0 : positive() }

    private mutating func positive() -> Double { Double.random(in: 1e-6...10, using: &random) * (random.coin() ? 1 : 1e-3) }

    /// `key` with a generated value, half of the time.
    private mutating func optionally(_ key: String, _ fields: inout [(String, ConfigSource)],
                                     _ value: (inout ConfigGenerator) -> ConfigSource) {
        if random.coin() { fields.append((key, value(&self))) }
    }

    /// Each field half of the time, with its generated value.
    private mutating func fieldsOf(_ fields: [(String, (inout ConfigGenerator) -> ConfigSource)]) -> [(String, ConfigSource)] {
        fields.compactMap { key, value in random.coin() ? (key, value(&self)) : nil }
    }

    private mutating func mapOf(_ fields: [(String, (inout ConfigGenerator) -> ConfigSource)]) -> ConfigSource {
        .map(shuffled(fieldsOf(fields)))
    }

    private mutating func shuffled(_ fields: [(String, ConfigSource)]) -> [(String, ConfigSource)] {
        fields.shuffled(using: &random)
    }
}
