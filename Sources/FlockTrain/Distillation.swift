import FlockData
import FlockNN
import FlockTensor

/// Knowledge distillation's data: every training row's target becomes (label, teacher
/// logits…), the teacher a trained checkpoint run on the raw training rows through its
/// own saved preprocessing (never this run's).
extension TrainingData {
    /// This data with the teacher's logits in the training targets when the loss is
    /// `distillation`; unchanged otherwise. Validation keeps plain labels: its loss is
    /// the student's cross-entropy.
    func withTeacherLogits(config: TrainingConfig) throws -> TrainingData {
        guard let path = config.loss.teacher else { return self }
        let teacher: Predictor
        do {
            teacher = try Predictor(path: path)
        } catch {
            throw ConfigError(path: "loss.teacher", "cannot load the teacher from \(path): \(error)")
        }
        guard teacher.loss.isSoftmaxClassifier else {
            throw ConfigError(path: "loss.teacher", "the teacher at \(path) was trained with loss '\(teacher.loss.name)'; distillation needs a softmax classifier's logits")
        }
        // The raw rows, split exactly as `init(config:)` split them.
        let data = config.data
        let all = try data.reshaped(try SourceData(config: config).dataset, path: "data")
        let (training, validation) = data.fold.map { all.split(fold: $0.index, of: $0.count, seed: UInt64(config.seed)) }
            ?? all.split(validationFraction: data.validationSplit, seed: UInt64(config.seed))
        let logits = try teacher.predict(features: training.features, source: data.source).outputs
        let classes = classCount ?? 1
        guard logits.count == training.count * classes else {
            throw ConfigError(path: "loss.teacher", "the teacher at \(path) outputs \(logits.count / Swift.max(training.count, 1)) values per sample; this data has \(classes) classes")
        }
        // (N, 1 + C): the label, then the teacher's logits.
        let targets = Tensor(shape: [training.count, 1 + classes], scalars: (0..<training.count).flatMap { row in
            [training.targets.scalars[row]] + logits.scalars[(row * classes)..<((row + 1) * classes)]
        })
        return TrainingData(preprocessing: preprocessing,
                            training: Dataset(features: training.features, targets: targets), validation: validation)
    }
}
