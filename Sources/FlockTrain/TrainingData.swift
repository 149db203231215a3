import FlockData
import FlockNN

/// The training and validation splits of a job, preprocessed with statistics of the
/// training split (normalization, and for regression standardized targets), plus what the
/// model's output must look like and the fitted `preprocessing` that checkpoints keep.
public struct TrainingData: Sendable {
    /// In memory (`Dataset`), or read from the file as needed (`StreamedDataset`, with
    /// `data.streaming: true`).
    public let training: any SampleSource
    public let validation: any SampleSource
    /// Streaming: the training samples an epoch shuffles together (`SampleOrder.window`);
    /// nil in memory.
    public let shuffleWindow: Int?
    public let normalizer: Normalizer
    /// Classes for classification losses; nil for regression.
    public let classCount: Int?
    /// What was fitted on the training split, saved with the model.
    public let preprocessing: Preprocessing

    /// Reads the configured source, splits it with the config's seed and fits the
    /// preprocessing on the training split — or, with `fitted` (a checkpoint's), applies
    /// that instead of fitting anything.
    public init(config: TrainingConfig, fitted: Preprocessing? = nil) throws {
        if config.data.streaming {
            self = try Self.streamed(config: config, fitted: fitted)
            return
        }
        let data = config.data
        let source = try SourceData(config: config)
        var all = try data.reshaped(source.dataset, path: "data")
        var featureColumns = source.featureColumns
        let files = InputFiles(graph: config.graph)
        if !files.isEmpty {
            let (features, columns) = try files.append(to: all.features, dataFile: data.source)
            all = Dataset(features: features, targets: all.targets)
            featureColumns = featureColumns.map { $0 + columns }
        }
        try data.sequence?.checkTokens(all.features, file: data.source, lines: source.lines)
        guard all.featureShape.reduce(1, *) > 0 else { throw DataError.noFeatures(path: data.source) }
        let partners = data.partners
        if let partners, let graph = config.graph {
            try partners.checkShapes(graph, width: all.featureShape.reduce(1, *), file: data.source)
        }
        let classCount = try Self.classCount(of: all.targets.scalars, classNames: source.classNames,
                                             labelColumn: source.labelColumn, labelsFile: source.labelsFile,
                                             lines: source.lines, config: config)
        if let fold = data.fold, all.count < fold.count {
            throw ConfigError(path: "data.fold.count", "\(fold.count) folds need at least \(fold.count) samples; \(data.source) has \(all.count)")
        }
        let (training, validation) = data.fold.map { all.split(fold: $0.index, of: $0.count, seed: UInt64(config.seed)) }
            ?? all.split(validationFraction: data.validationSplit, seed: UInt64(config.seed))
        guard training.count > 0 else { throw Self.nothingToTrainOn(data, samples: all.count) }
        // Token ids are indices, never rescaled.
        let method = data.sequence?.tokens != nil ? .none : Normalizer.Method(rawValue: data.normalization.rawValue) ?? .none
        let imputation = source.missing.isEmpty ? nil : FeatureStatistics(of: training.features).means
        let fresh = Preprocessing(
            featureColumns: featureColumns, labelColumn: source.labelColumn, featureShape: all.featureShape,
            imputation: imputation,
            normalizer: Normalizer(method: method, fittingOn: Preprocessing.impute(training.features, with: imputation)),
            classNames: source.classNames, classCount: classCount,
            targetScaling: classCount == nil && partners == nil && data.targetNormalization == .standard ? TargetScaling(fittingOn: training.targets) : nil)
        let preprocessing = fitted ?? partners.map { $0.paired(fresh) } ?? fresh
        guard let partners else {
            self.init(preprocessing: preprocessing, training: training, validation: validation)
            return
        }
        let prepared = { (split: Dataset, name: String) in
            try partners.serve(Self.prepared(split, preprocessing), name: name, file: data.source, seed: config.seed)
        }
        self.init(preprocessing: preprocessing, training: try prepared(training, "training"), validation: try prepared(validation, "validation"),
                  shuffleWindow: nil)
    }

    /// The error for a split that leaves no training samples (a validation split just
    /// below 1 holds out every sample of a small file).
    static func nothingToTrainOn(_ data: DataConfig, samples: Int) -> ConfigError {
        ConfigError(path: data.fold == nil ? "data.validation_split" : "data.fold",
                    "holds out all \(samples) samples of \(data.source), leaving none to train on")
    }

    /// Raw splits through `preprocessing`.
    init(preprocessing: Preprocessing, training: Dataset, validation: Dataset) {
        self.init(preprocessing: preprocessing, training: Self.prepared(training, preprocessing),
                  validation: Self.prepared(validation, preprocessing), shuffleWindow: nil)
    }

    /// A raw split imputed, normalized and with its training targets.
    static func prepared(_ split: Dataset, _ preprocessing: Preprocessing) -> Dataset {
        Dataset(features: preprocessing.normalizer.apply(Preprocessing.impute(split.features, with: preprocessing.imputation)),
                targets: preprocessing.trainingTargets(split.targets))
    }

    /// For a classification loss, the number of classes the labels ask for (checked); nil
    /// for regression.
    static func classCount(of targets: [Float], classNames: [String]?, labelColumn: String?, labelsFile: String,
                           lines: [Int], config: TrainingConfig) throws -> Int? {
        if let partners = config.data.partners {
            // Partners are drawn by class, so the labels are classes whatever the loss reads;
            // a pair's loss reads its flag, of two classes (0 different, 1 same).
            let classes = try classNames?.count ?? checkClassLabels(targets, file: labelsFile, lines: lines, binary: false, loss: partners.path) + 1
            guard case .pairs = partners.tuple else { return classes }
            return config.loss.terms[0].kind.readsClassLabels ? 2 : nil
        }
        // A graph input from labels reads them as class indices whatever the loss reads.
        let labelInputs = config.graph?.inputs.filter { $0.from == .labels } ?? []
        let readsLabels = config.loss.terms[0].kind.readsClassLabels && config.loss.terms[0].target == .targets
        guard readsLabels || !labelInputs.isEmpty else {
            if let names = classNames {
                throw DataError.unreadable(path: config.data.source, reason: "the label column \(labelColumn.map { "'\($0)' " } ?? "")holds text (\(names.prefix(5).map { "'\($0)'" }.joined(separator: ", "))\(names.count > 5 ? ", …" : "")) but loss '\(config.loss.name)' needs numbers")
            }
            return nil
        }
        let binary = if readsLabels, case .binary = config.loss.reading { true } else { false }
        if let names = classNames {
            if binary && names.count != 2 {
                throw DataError.unreadable(path: config.data.source, reason: "binary_cross_entropy needs two classes, the labels name \(names.count): \(names.prefix(5).joined(separator: ", "))")
            }
            return names.count
        }
        let largest = try checkClassLabels(targets, file: labelsFile, lines: lines,
                                           binary: binary, loss: config.loss.name)
        return binary ? 2 : largest + 1
    }

    /// Labels at or above this are rejected: a Float holds every integer only up to 2^24,
    /// and no model has that many outputs.
    public static let classLabelLimit: Float = 16_777_216

    /// Throws at the first label that is not a class index (negative, fractional, NaN,
    /// infinite, too large; for binary losses not 0 or 1), naming the file and line.
    /// Returns the largest label.
    static func checkClassLabels(_ labels: [Float], file: String, lines: [Int], binary: Bool, loss: String) throws -> Int {
        var largest = 0
        for (row, label) in labels.enumerated() {
            let reason: String?
            if !(label >= 0) || label != label.rounded(.towardZero) || !label.isFinite {
                reason = "\(loss) needs non-negative integer class labels"
            } else if binary && label > 1 {
                reason = "binary_cross_entropy needs labels 0 or 1"
            } else if label >= classLabelLimit {
                reason = "class labels must be below \(Int(classLabelLimit))"
            } else {
                reason = nil
            }
            if let reason { throw DataError.invalidLabel(path: file, line: lines.indices.contains(row) ? lines[row] : row + 1, value: label, reason: reason) }
            largest = Swift.max(largest, Int(label))
        }
        return largest
    }
}
