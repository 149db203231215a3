/// The training and validation splits of a job, normalised with statistics of the
/// training split, plus what the model's output must look like.
public struct TrainingData: Sendable {
    public let training: Dataset
    public let validation: Dataset
    public let normalizer: Normalizer
    /// Classes for classification losses; nil for regression.
    public let classCount: Int?

    /// Reads the configured source, splits it with the config's seed and fits the normaliser.
    public init(config: TrainingConfig) throws {
        let data = config.data
        let all: Dataset
        if data.resolvedFormat == "csv" {
            all = try CSVReader(hasHeader: data.header, labelColumn: data.labelColumn.readerColumn).read(path: data.source)
        } else {
            all = try IDXReader.readDataset(images: data.source, labels: data.labels ?? "")
        }
        let labelsFile = data.labels ?? data.source
        if config.loss.isClassification {
            for (row, label) in all.targets.scalars.enumerated() where label < 0 || label != label.rounded() {
                throw DataError.invalidLabel(path: labelsFile, line: row + 1 + (data.header && data.resolvedFormat == "csv" ? 1 : 0),
                                             value: label, reason: "\(config.loss.name) needs non-negative integer class labels")
            }
            classCount = config.loss.name == "binary_cross_entropy" ? 2 : all.inferredClassCount
            if config.loss.name == "binary_cross_entropy", all.targets.max() > 1 {
                throw DataError.invalidLabel(path: labelsFile, line: 0, value: all.targets.max(),
                                             reason: "binary_cross_entropy needs labels 0 or 1")
            }
        } else {
            classCount = nil
        }
        let (training, validation) = all.split(validationFraction: data.validationSplit, seed: UInt64(config.seed))
        guard training.count > 0 else { throw DataError.empty(path: data.source) }
        let method = Normalizer.Method(rawValue: data.normalization) ?? .none
        normalizer = Normalizer(method: method, fittingOn: training.features)
        self.training = normalizer.apply(training)
        self.validation = normalizer.apply(validation)
    }

    /// Output width the model's last layer must produce.
    public func expectedOutputWidth(loss: LossConfig) -> Int {
        if loss.name == "cross_entropy" { return classCount ?? 1 }
        if loss.name == "binary_cross_entropy" { return 1 }
        return training.targets.count / Swift.max(training.count, 1)
    }
}
