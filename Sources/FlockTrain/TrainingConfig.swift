import FlockData
import FlockNN
import FlockParallel
import FlockStore

/// A training job as written in YAML. Every field has a default except `data` and `model`.
///
/// ```yaml
/// name: digits-mlp
/// seed: 42
/// epochs: 30
/// data: {source: data/digits.csv, label_column: label, batch_size: 32}
/// model:
///   - {type: dense, units: 128, activation: relu}
///   - {type: dense, units: 10}
/// optimizer: {name: adam, lr: 0.001}
/// ```
public struct TrainingConfig: Codable, Equatable, Sendable {
    public var name: String
    /// Seeds parameter initialisation, the data split, shuffling and dropout.
    public var seed: Int
    public var epochs: Int
    public var data: DataConfig
    /// `model:` as a layer list (the one-chain graph); empty when `graph` holds the model.
    public var model: [LayerConfig]
    /// `model:` as a mapping of `inputs`, `nodes` and `outputs`; nil for a layer list.
    public var graph: ModelGraphConfig?
    public var loss: LossConfig
    public var optimizer: OptimizerConfig
    public var schedule: ScheduleConfig
    /// Empty means accuracy for classification, MSE for regression.
    public var metrics: [MetricName]
    public var regularization: RegularizationConfig
    public var gradientClipping: GradientClippingConfig
    public var parallel: ParallelConfig
    public var callbacks: CallbacksConfig
    /// Start from another run's weights (transfer learning); nil: initialize from the seed.
    public var initFrom: InitFromConfig?
    /// Restarts of a supervised job (`--np N`); nil: the defaults.
    public var elastic: ElasticConfig?
    /// The inputs of the matrix products: `float32`, `bf16` or `auto`; nil: float32 (left
    /// out of the resolved config, so a config without it keeps its identity).
    public var precision: PrecisionChoice?
    /// Which library runs each Float32 matrix product: `auto` (a rule of the shape),
    /// `timed`, `openblas` or `onednn`; nil: auto (left out of the resolved config).
    public var matrixKernels: MatrixKernelChoice?
    /// Several phases per optimizer step, each its own parameter group, optimizer and
    /// loss; nil: one phase over every parameter.
    public var phases: [PhaseConfig]?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case name, seed, epochs, data, model, loss, optimizer, schedule, metrics, regularization, parallel, callbacks, elastic
        case precision, phases
        case gradientClipping = "gradient_clipping"
        case matrixKernels = "matrix_kernels"
        case initFrom = "init_from"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.value(.name, or: "run")
        seed = try c.value(.seed, or: 0)
        epochs = try c.value(.epochs, or: 10)
        data = try c.decode(DataConfig.self, forKey: .data)
        if let graph = try? c.nestedContainer(keyedBy: AnyCodingKey.self, forKey: .model), !graph.allKeys.isEmpty {
            self.graph = try c.decode(ModelGraphConfig.self, forKey: .model)
            model = []
        } else {
            model = try c.decode([LayerConfig].self, forKey: .model)
        }
        loss = try c.value(.loss, or: LossConfig())
        optimizer = try c.value(.optimizer, or: OptimizerConfig())
        schedule = try c.value(.schedule, or: ScheduleConfig())
        metrics = try c.value(.metrics, or: [])
        regularization = try c.value(.regularization, or: RegularizationConfig())
        gradientClipping = try c.value(.gradientClipping, or: GradientClippingConfig())
        parallel = try c.value(.parallel, or: ParallelConfig())
        callbacks = try c.value(.callbacks, or: CallbacksConfig())
        initFrom = try c.decodeIfPresent(InitFromConfig.self, forKey: .initFrom)
        elastic = try c.decodeIfPresent(ElasticConfig.self, forKey: .elastic)
        precision = try c.decodeIfPresent(PrecisionChoice.self, forKey: .precision)
        matrixKernels = try c.decodeIfPresent(MatrixKernelChoice.self, forKey: .matrixKernels)
        phases = try c.decodeIfPresent([PhaseConfig].self, forKey: .phases)
        if data.validationSplit == 0, callbacks.modelCheckpoint?.monitorIsDefault == true {
            callbacks.modelCheckpoint?.monitor = "loss"
        }
    }

    /// Checks every value; the first problem is thrown with its field path.
    public func validate() throws {
        guard !name.isEmpty, !name.contains("/") else {
            throw ConfigError(path: "name", "expected a non-empty name without '/', got '\(name)'")
        }
        guard seed >= 0 else { throw ConfigError(path: "seed", "expected an integer ≥ 0, got \(seed)") }
        try Check.within(epochs, 1, 1_000_000, "epochs")
        try data.validate(path: "data")
        try InputFiles(graph: graph).validate(data)
        try data.partners?.validate(self)
        if let graph {
            try graph.validate(path: "model")
        } else if model.isEmpty {
            throw ConfigError(path: "model", "expected at least one layer")
        }
        _ = try makeLoss()
        _ = try makePhases()
        _ = try optimizer.makeOptimizer(path: "optimizer")
        _ = try schedule.makeSchedule(stepsPerEpoch: 1, path: "schedule")
        for (index, metric) in metrics.enumerated() where metric.isClassification != loss.isClassification {
            throw ConfigError(path: "metrics[\(index)]",
                              "'\(metric.rawValue)' is a \(metric.isClassification ? "classification" : "regression") metric but loss '\(loss.name)' is not")
        }
        if data.streaming && loss.distills {
            throw ConfigError(path: "data.streaming", "distillation runs the teacher on the whole training file in memory; train the student with streaming: false")
        }
        if data.sampling == .balanced && loss.distills {
            throw ConfigError(path: "data.sampling", "balanced sampling reads plain class labels; distillation's training targets carry the teacher's logits")
        }
        if data.sampling == .balanced && !loss.isClassification {
            throw ConfigError(path: "data.sampling", "balanced sampling draws classes equally often; loss '\(loss.name)' has no classes")
        }
        try regularization.validate(path: "regularization")
        try gradientClipping.validate(path: "gradient_clipping")
        try parallel.validate(path: "parallel")
        try callbacks.validate(path: "callbacks", config: self)
        try elastic?.validate(path: "elastic")
    }

    /// In the order the fields are declared (as a synthesized encoder writes them);
    /// `model:` is the graph's mapping or the layer list.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(seed, forKey: .seed)
        try c.encode(epochs, forKey: .epochs)
        try c.encode(data, forKey: .data)
        if let graph { try c.encode(graph, forKey: .model) } else { try c.encode(model, forKey: .model) }
        try c.encode(loss, forKey: .loss)
        try c.encode(optimizer, forKey: .optimizer)
        try c.encode(schedule, forKey: .schedule)
        try c.encode(metrics, forKey: .metrics)
        try c.encode(regularization, forKey: .regularization)
        try c.encode(gradientClipping, forKey: .gradientClipping)
        try c.encode(parallel, forKey: .parallel)
        try c.encode(callbacks, forKey: .callbacks)
        try c.encodeIfPresent(initFrom, forKey: .initFrom)
        try c.encodeIfPresent(elastic, forKey: .elastic)
        try c.encodeIfPresent(precision, forKey: .precision)
        try c.encodeIfPresent(matrixKernels, forKey: .matrixKernels)
        try c.encodeIfPresent(phases, forKey: .phases)
    }

    /// The loss, its outputs and targets checked against the model's names.
    public func makeLoss() throws -> Loss { try makeLoss(loss, path: "loss") }

    private func makeLoss(_ loss: LossConfig, path: String) throws -> Loss {
        guard let graph else { return try loss.makeLoss(path: path) }
        return try loss.makeLoss(path: path, outputs: graph.outputs, inputs: [LossTarget.features.rawValue] + graph.inputs.filter { $0.from == .features }.map(\.name))
    }

    /// The step's phases from `phases:` (one over everything when there are none).
    public func makePhases() throws -> [StepPhase] {
        guard let phases else { return [.whole] }
        guard !phases.isEmpty else { throw ConfigError(path: "phases", "expected at least one phase, or no phases: field") }
        return try phases.enumerated().map { index, phase in
            let path = "phases[\(index)]"
            try phase.validate(path: path, earlier: Array(phases[..<index]))
            if index == 0, let every = phase.every, every != 1 {
                throw ConfigError(path: "\(path).every", "the first phase runs every step (its optimizer counts the steps); put a phase that runs less often after it")
            }
            return StepPhase(name: phase.name, parameterPrefixes: phase.prefixes,
                             optimizer: try phase.optimizer?.makeOptimizer(path: "\(path).optimizer"),
                             loss: try phase.loss.map { try makeLoss($0, path: "\(path).loss") },
                             learningRateScale: Float(phase.optimizer.map { $0.lr / optimizer.lr } ?? 1),
                             every: phase.every ?? 1, clipWeights: phase.clipWeights.map(Float.init))
        }
    }

    /// The metrics to compute, defaults filled in.
    public var resolvedMetrics: [MetricName] {
        if metrics.isEmpty { return loss.terms[0].kind.embedsLabels ? [] : MetricName.defaults(classification: loss.isClassification) }
        return metrics
    }
}

/// Where the data comes from and how it is batched.
public struct DataConfig: Codable, Equatable, Sendable {
    /// A CSV file, or an IDX features file. Relative paths are relative to the config file.
    public var source: String
    /// `csv` or `idx`; by default from the file extension (`.csv` → csv, otherwise idx).
    public var format: Format?
    /// The IDX labels file (format idx only).
    public var labels: String?
    /// CSV: whether the first row names the columns.
    public var header: Bool
    /// CSV: the label column, by name or 0-based index (negative counts from the end).
    public var labelColumn: LabelColumnConfig
    /// Fraction of samples held out for validation (after a seeded shuffle).
    public var validationSplit: Double
    /// `standard`, `minmax` or `none`; fitted on the training split only.
    public var normalization: Normalization
    public var batchSize: Int
    /// Rows per chunk of validation, evaluation and prediction (nil: `batch_size`): the
    /// activations of one chunk are what inference holds.
    public var evalBatchSize: Int?
    public var shuffle: Bool
    /// Per-sample feature shape each row is laid out in, e.g. `[1, 8, 8]` for the 64
    /// pixel columns of an 8×8 image as channels × height × width; nil keeps the reader's.
    /// Its product must equal the number of feature values per sample.
    public var shape: [Int]?
    /// Each row is a sequence (steps × features, or steps token ids); sets the shape.
    public var sequence: SequenceConfig?
    /// Random transforms of the training samples; nil: none.
    public var augment: AugmentConfig?
    /// Regression targets: `standard` (fitted on the training split, undone in metrics and
    /// predictions) or `none`. Classification ignores it.
    public var targetNormalization: TargetNormalization
    /// Cross-validation: hold out this fold (of `count`) instead of `validation_split`
    /// (`flock train --kfold K` sets it for each run).
    public var fold: FoldConfig?
    /// `uniform` (each sample once per epoch, shuffled) or `balanced` (drawn with
    /// replacement, each class equally often on average: oversampling rare classes).
    public var sampling: Sampling
    /// CSV: the field separator, one character (`,` `;` `\t` `|`).
    public var delimiter: String
    /// CSV: an empty or `NA`-like feature cell is an `error`, or takes the training
    /// split's column `mean` (saved with the model).
    public var missing: MissingValues
    /// Read the file a block of rows at a time instead of loading it: for files larger
    /// than memory (CSV or IDX). Same splits and preprocessing as in memory.
    public var streaming: Bool
    /// Streaming: samples shuffled together each epoch (and about twice as many rows
    /// held in memory); a window as large as the training split is a full shuffle.
    public var chunkRows: Int
    /// Generated pairs for a Siamese graph: each sample with a partner drawn from its
    /// split, the target the pair's flag; nil: none.
    public var pairs: PairsConfig?
    /// Generated triplets (anchor, positive, negative) for a Siamese graph; nil: none.
    public var triplets: TripletsConfig?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case source, format, labels, header, shuffle, normalization, shape, augment
        case labelColumn = "label_column"
        case validationSplit = "validation_split"
        case batchSize = "batch_size"
        case evalBatchSize = "eval_batch_size"
        case targetNormalization = "target_normalization"
        case fold, sampling, delimiter, missing, streaming, sequence, pairs, triplets
        case chunkRows = "chunk_rows"
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        source = try c.decode(String.self, forKey: .source)
        format = try c.decodeIfPresent(Format.self, forKey: .format)
        labels = try c.decodeIfPresent(String.self, forKey: .labels)
        header = try c.value(.header, or: true)
        labelColumn = try c.value(.labelColumn, or: .index(-1))
        validationSplit = try c.value(.validationSplit, or: 0.2)
        normalization = try c.value(.normalization, or: .standard)
        batchSize = try c.value(.batchSize, or: 32)
        evalBatchSize = try c.decodeIfPresent(Int.self, forKey: .evalBatchSize)
        shuffle = try c.value(.shuffle, or: true)
        shape = try c.decodeIfPresent([Int].self, forKey: .shape)
        augment = try c.decodeIfPresent(AugmentConfig.self, forKey: .augment)
        sequence = try c.decodeIfPresent(SequenceConfig.self, forKey: .sequence)
        targetNormalization = try c.value(.targetNormalization, or: .standard)
        fold = try c.decodeIfPresent(FoldConfig.self, forKey: .fold)
        sampling = try c.value(.sampling, or: .uniform)
        delimiter = try c.value(.delimiter, or: ",")
        missing = try c.value(.missing, or: .error)
        streaming = try c.value(.streaming, or: false)
        chunkRows = try c.value(.chunkRows, or: 8192)
        pairs = try c.decodeIfPresent(PairsConfig.self, forKey: .pairs)
        triplets = try c.decodeIfPresent(TripletsConfig.self, forKey: .triplets)
    }

    /// The generated pairs or triplets, if any.
    var partners: GeneratedPartners? { GeneratedPartners(self) }

    /// The one-character `delimiter`.
    var delimiterCharacter: Character { delimiter.first ?? "," }

    /// `format`, or by the file's extension: `.csv` → csv, otherwise idx.
    public var resolvedFormat: Format {
        format ?? (source.lowercased().hasSuffix(".csv") ? .csv : .idx)
    }

    func validate(path: String) throws {
        guard !source.isEmpty else { throw ConfigError(path: "\(path).source", "expected a file path") }
        if resolvedFormat == .idx, labels == nil {
            throw ConfigError(path: "\(path).labels", "format idx needs a labels file")
        }
        guard validationSplit >= 0, validationSplit < 1 else {
            throw ConfigError(path: "\(path).validation_split", "expected a number in [0, 1), got \(validationSplit)")
        }
        try Check.within(batchSize, 1, 1 << 24, "\(path).batch_size")
        if let evalBatchSize { try Check.within(evalBatchSize, 1, 1 << 24, "\(path).eval_batch_size") }
        try Check.within(chunkRows, 1, 1 << 30, "\(path).chunk_rows")
        if streaming, sampling == .balanced {
            throw ConfigError(path: "\(path).sampling", "balanced sampling draws samples from anywhere in the file; with streaming: true use uniform")
        }
        guard delimiter.count == 1, delimiter != "\"", !delimiter.first!.isNewline else {
            throw ConfigError(path: "\(path).delimiter", "expected one character other than a quote or line break (\",\", \";\", \"\\t\", \"|\"), got \"\(delimiter)\"")
        }
        if let fold {
            try Check.within(fold.count, 2, 1_000_000, "\(path).fold.count")
            try Check.within(fold.index, 0, fold.count - 1, "\(path).fold.index")
        }
        if let sequence {
            try sequence.validate(path: "\(path).sequence")
            if shape != nil { throw ConfigError(path: "\(path).shape", "data.sequence sets the shape; give one of them") }
        }
        if let shape {
            guard !shape.isEmpty else { throw ConfigError(path: "\(path).shape", "expected at least one dimension") }
            var product = 1
            for (axis, size) in shape.enumerated() {
                try Check.positive(size, "\(path).shape[\(axis)]")
                try Check.within(size, 1, 1 << 24, "\(path).shape[\(axis)]")
                // A sample of more than 2^31 values cannot be a row of a data file.
                let (next, overflow) = product.multipliedReportingOverflow(by: size)
                guard !overflow, next <= 1 << 31 else {
                    throw ConfigError(path: "\(path).shape", "\(shape) holds more than 2^31 values per sample")
                }
                product = next
            }
        }
    }

    /// The per-sample shape `shape` or `sequence` gives; nil: the reader's.
    public var resolvedShape: [Int]? { sequence?.shape ?? shape }

    /// `features` (N, …) laid out as (N, shape…), or a configuration error at
    /// `data.shape` when the sizes disagree.
    func reshaped(_ dataset: Dataset, path: String) throws -> Dataset {
        guard let shape = resolvedShape else { return dataset }
        let perSample = dataset.featureShape.reduce(1, *), wanted = shape.reduce(1, *)
        guard perSample == wanted else {
            throw ConfigError(path: "\(path).\(sequence == nil ? "shape" : "sequence")", "\(shape) holds \(wanted) values per sample but \(source) has \(perSample) features")
        }
        return Dataset(features: dataset.features.reshaped([dataset.count] + shape), targets: dataset.targets)
    }
}

/// `fold: {index: 2, count: 5}`: which fold a cross-validation run holds out.
public struct FoldConfig: Codable, Equatable, Sendable {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }
}

/// A label column given by name (`label`) or index (`-1`).
public enum LabelColumnConfig: Codable, Equatable, Sendable {
    case name(String)
    case index(Int)

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let index = try? c.decode(Int.self) { self = .index(index) } else { self = .name(try c.decode(String.self)) }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case let .name(name): try c.encode(name)
        case let .index(index): try c.encode(index)
        }
    }

    var readerColumn: CSVReader.LabelColumn {
        switch self {
        case let .name(name): return .name(name)
        case let .index(index): return .index(index)
        }
    }
}

public struct RegularizationConfig: Codable, Equatable, Sendable {
    public var l1: Double
    public var l2: Double
    /// Max-norm constraint: each weight row's L2 norm is kept at most this (nil: none).
    public var maxNorm: Double?
    /// Gaussian weight noise: σ of the perturbation of the weights each step (nil: none).
    public var weightNoise: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case l1, l2
        case maxNorm = "max_norm"
        case weightNoise = "weight_noise"
    }

    public init(l1: Double = 0, l2: Double = 0) {
        self.l1 = l1
        self.l2 = l2
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        l1 = try c.value(.l1, or: 0)
        l2 = try c.value(.l2, or: 0)
        maxNorm = try c.decodeIfPresent(Double.self, forKey: .maxNorm)
        weightNoise = try c.decodeIfPresent(Double.self, forKey: .weightNoise)
    }

    func validate(path: String) throws {
        try Check.nonNegative(float: l1, "\(path).l1")
        try Check.nonNegative(float: l2, "\(path).l2")
        if let maxNorm { try Check.positive(float: maxNorm, "\(path).max_norm") }
        if let weightNoise { try Check.nonNegative(float: weightNoise, "\(path).weight_noise") }
    }

    public var penalty: WeightPenalty { WeightPenalty(l1: Float(l1), l2: Float(l2)) }
}

public struct GradientClippingConfig: Codable, Equatable, Sendable {
    /// Clip the global L2 norm of all gradients to this.
    public var maxNorm: Double?
    /// Clamp every gradient element to ±this.
    public var maxValue: Double?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case maxNorm = "max_norm"
        case maxValue = "max_value"
    }

    public init(maxNorm: Double? = nil, maxValue: Double? = nil) {
        self.maxNorm = maxNorm
        self.maxValue = maxValue
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let c = try decoder.container(keyedBy: CodingKeys.self)
        maxNorm = try c.decodeIfPresent(Double.self, forKey: .maxNorm)
        maxValue = try c.decodeIfPresent(Double.self, forKey: .maxValue)
    }

    func validate(path: String) throws {
        if let maxNorm { try Check.positive(float: maxNorm, "\(path).max_norm") }
        if let maxValue { try Check.positive(float: maxValue, "\(path).max_value") }
    }
}
