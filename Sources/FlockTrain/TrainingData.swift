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
        let read: Dataset
        if data.resolvedFormat == "csv" {
            read = try CSVReader(hasHeader: data.header, labelColumn: data.labelColumn.readerColumn).read(path: data.source)
        } else {
            read = try IDXReader.readDataset(images: data.source, labels: data.labels ?? "")
        }
        let all = try data.reshaped(read, path: "data")
        let labelsFile = data.labels ?? data.source
        guard all.featureShape.reduce(1, *) > 0 else { throw DataError.noFeatures(path: data.source) }
        if config.loss.isClassification {
            let firstLine = 1 + (data.header && data.resolvedFormat == "csv" ? 1 : 0)
            let largest = try Self.checkClassLabels(all.targets.scalars, file: labelsFile, firstLine: firstLine,
                                                    binary: config.loss.name == "binary_cross_entropy", loss: config.loss.name)
            classCount = config.loss.name == "binary_cross_entropy" ? 2 : largest + 1
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

    /// Labels at or above this are rejected: a Float holds every integer only up to 2^24,
    /// and no model has that many outputs.
    public static let classLabelLimit: Float = 16_777_216

    /// Throws at the first label that is not a class index (negative, fractional, NaN,
    /// infinite, too large; for binary losses not 0 or 1), naming the file and line.
    /// Returns the largest label.
    static func checkClassLabels(_ labels: [Float], file: String, firstLine: Int, binary: Bool, loss: String) throws -> Int {
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
            if let reason { throw DataError.invalidLabel(path: file, line: firstLine + row, value: label, reason: reason) }
            largest = Swift.max(largest, Int(label))
        }
        return largest
    }
}
