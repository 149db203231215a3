import FlockData
import FlockNN

extension TrainingData {
    /// Splits already in memory, e.g. from `CSVReader` and `Dataset.split` in Swift code.
    /// `normalizer` is what was fitted on `training` (kept with the model); `classCount`
    /// is nil for regression.
    ///
    /// ```swift
    /// let all = try CSVReader(labelColumn: .name("label")).read(path: "digits.csv")
    /// let (training, validation) = all.split(validationFraction: 0.2, seed: 1)
    /// let normalizer = Normalizer(method: .standard, fittingOn: training.features)
    /// let data = TrainingData(training: normalizer.apply(training), validation: normalizer.apply(validation),
    ///                         normalizer: normalizer, classCount: all.inferredClassCount)
    /// ```
    public init(training: Dataset, validation: Dataset, normalizer: Normalizer, classCount: Int?) {
        self.training = training
        self.validation = validation
        shuffleWindow = nil
        self.normalizer = normalizer
        self.classCount = classCount
        preprocessing = Preprocessing(featureShape: training.featureShape, normalizer: normalizer, classCount: classCount)
    }
}

extension TrainingData {
    /// Output width the model's last layer must produce for `loss` on this data.
    public func expectedOutputWidth(for loss: Loss) -> Int {
        switch loss.reading {
        case .classLogits: return classCount ?? 1
        case .binary: return 1
        case .values where loss.primaryTarget == .features: return training.featureShape.reduce(1, *)
        case .values: return training.targets.count / Swift.max(training.count, 1)
        }
    }
}
