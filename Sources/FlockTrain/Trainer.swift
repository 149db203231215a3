import Foundation

/// One epoch's results: `loss` and metrics on the training data, `val_`-prefixed ones
/// on the validation split, the learning rate at the epoch's end and the throughput.
public struct EpochRecord: Sendable {
    public let epoch: Int
    public let metrics: [String: Double]
    public let learningRate: Float
    public let seconds: Double
    public let samplesPerSecond: Double
}

/// What `summary.json` holds.
public struct TrainingSummary: Codable, Sendable, Equatable {
    public var epochsRun: Int
    /// Best value of each metric over the epochs (lowest loss/error, highest score).
    public var best: [String: Double]
    /// Values of the last epoch.
    public var final: [String: Double]
    public var stoppedEarly: Bool
    public var worldSize: Int
    /// Training samples per second over all epochs (validation excluded).
    public var samplesPerSecond: Double

    enum CodingKeys: String, CodingKey {
        case best, final
        case epochsRun = "epochs_run"
        case stoppedEarly = "stopped_early"
        case worldSize = "world_size"
        case samplesPerSecond = "samples_per_second"
    }
}

/// Trains a model described by a `TrainingConfig` on one rank.
///
/// ```swift
/// let config = try ConfigLoader.load(path: "examples/digits-mlp.yaml")
/// let trainer = try Trainer(config: config)
/// let summary = trainer.fit { record in print(record.metrics) }
/// ```
public final class Trainer {
    public let config: TrainingConfig
    public let data: TrainingData
    public let parameters = ParameterStore()
    public let model: Sequential
    public let loss: Loss
    public private(set) var optimizer: any Optimizer
    public let schedule: LearningRateSchedule
    public let loader: DataLoader
    private let tape: Tape
    private let metricNames: [MetricName]
    private var dropoutGenerator: RandomGenerator

    /// Reads the data and builds the model; throws `DataError` or `ConfigError` naming
    /// what is wrong, before any training starts.
    public init(config: TrainingConfig) throws {
        try config.validate()
        self.config = config
        data = try TrainingData(config: config)
        let specs = try config.model.enumerated().map { try $1.spec(path: "model[\($0)]") }
        var initGenerator = RandomGenerator(seed: UInt64(config.seed), stream: SeedStream.initialization)
        model = Sequential(specs, inputShape: data.training.featureShape, parameters: parameters, generator: &initGenerator)
        let expected = data.expectedOutputWidth(loss: config.loss)
        let produced = model.outputShape.reduce(1, *)
        guard produced == expected else {
            let lastDense = config.model.lastIndex { $0.type == "dense" } ?? config.model.count - 1
            throw ConfigError(path: "model[\(lastDense)].units",
                              "the model outputs \(produced) values per sample but loss '\(config.loss.name)' on this data needs \(expected)\(data.classCount.map { " (\($0) classes)" } ?? "")")
        }
        loss = try config.loss.makeLoss(path: "loss")
        if case let .crossEntropy(_, weights?) = loss, weights.count != expected {
            throw ConfigError(path: "loss.class_weights", "expected \(expected) weights (one per class), got \(weights.count)")
        }
        optimizer = try config.optimizer.makeOptimizer(path: "optimizer")
        loader = DataLoader(dataset: data.training, batchSize: config.data.batchSize,
                            shuffle: config.data.shuffle, seed: UInt64(config.seed))
        schedule = try config.schedule.makeSchedule(stepsPerEpoch: loader.batchesPerEpoch, path: "schedule")
        tape = Tape(parameters: parameters)
        metricNames = config.resolvedMetrics
        dropoutGenerator = RandomGenerator(seed: UInt64(config.seed), stream: SeedStream.dropout)
    }

    /// Runs all epochs; `onEpoch` sees each epoch's record as soon as it is done.
    public func fit(onEpoch: (EpochRecord) -> Void = { _ in }) -> TrainingSummary {
        var tracker = BestValueTracker()
        var last: [String: Double] = [:]
        var trainingSeconds = 0.0
        var trainingSamples = 0
        for epoch in 0..<config.epochs {
            let started = DispatchTime.now()
            var learningRate = Float(config.optimizer.lr)
            var accumulator = MetricAccumulator(metrics: metricNames, loss: config.loss, classCount: data.classCount)
            let order = loader.order(epoch: epoch)
            for index in 0..<loader.batchesPerEpoch {
                let batch = loader.batch(index, epoch: epoch, order: order)
                learningRate = schedule.learningRate(base: Float(config.optimizer.lr), step: optimizer.stepCount,
                                                     stepsPerEpoch: loader.batchesPerEpoch,
                                                     totalSteps: loader.batchesPerEpoch * config.epochs)
                let (lossValue, outputs) = trainStep(batch, learningRate: learningRate)
                accumulator.add(meanLoss: lossValue, outputs: outputs, targets: batch.targets)
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
            trainingSeconds += seconds
            trainingSamples += loader.dataset.count
            var metrics = accumulator.values()
            if data.validation.count > 0 {
                metrics.merge(evaluate(data.validation).values(prefix: "val_")) { $1 }
            }
            tracker.observe(metrics)
            last = metrics
            onEpoch(EpochRecord(epoch: epoch + 1, metrics: metrics, learningRate: learningRate, seconds: seconds,
                                samplesPerSecond: Double(loader.dataset.count) / Swift.max(seconds, 1e-9)))
        }
        return TrainingSummary(epochsRun: config.epochs, best: tracker.best, final: last, stoppedEarly: false,
                               worldSize: 1, samplesPerSecond: Double(trainingSamples) / Swift.max(trainingSeconds, 1e-9))
    }

    /// Forward, backward, penalties, clipping and the optimizer update on one batch.
    /// Returns the batch's mean loss (penalty included) and the model's outputs.
    @discardableResult
    public func trainStep(_ batch: Batch, learningRate: Float) -> (loss: Float, outputs: Tensor) {
        tape.reset()
        var context = ForwardContext(tape: tape, isTraining: true, generator: dropoutGenerator)
        let input = tape.constant(batch.features)
        let output = model.forward(input, context: &context)
        dropoutGenerator = context.generator
        let objective = loss(output, target: batch.targets)
        tape.backward(from: objective)
        let penalty = config.regularization.penalty.apply(to: parameters)
        if let limit = config.gradientClipping.maxValue { GradientClipping.clipByValue(parameters, limit: Float(limit)) }
        if let maxNorm = config.gradientClipping.maxNorm { GradientClipping.clipByNorm(parameters, maxNorm: Float(maxNorm)) }
        optimizer.step(parameters, learningRate: learningRate)
        return (objective.value.scalar + penalty, output.value)
    }

    /// Loss and metrics of the current model on `dataset`, in inference mode.
    func evaluate(_ dataset: Dataset) -> MetricAccumulator {
        var accumulator = MetricAccumulator(metrics: metricNames, loss: config.loss, classCount: data.classCount)
        let evaluationLoader = DataLoader(dataset: dataset, batchSize: 512, shuffle: false)
        for batch in evaluationLoader.batches(epoch: 0) {
            tape.reset()
            var context = ForwardContext(tape: tape, isTraining: false, generator: dropoutGenerator)
            let output = model.forward(tape.constant(batch.features), context: &context)
            let objective = loss(output, target: batch.targets)
            accumulator.add(meanLoss: objective.value.scalar, outputs: output.value, targets: batch.targets)
        }
        tape.reset()
        return accumulator
    }

    /// Loss, metrics and (for classifiers) the confusion matrix on the validation split.
    public func evaluateValidation() -> (metrics: [String: Double], confusion: ConfusionMatrix?) {
        let accumulator = evaluate(data.validation)
        return (accumulator.values(prefix: "val_"), accumulator.confusionMatrix)
    }
}

/// Independent random streams of one job, derived from the config seed.
enum SeedStream {
    static let initialization: UInt64 = 1
    static let dropout: UInt64 = 2
}

/// Best value of each metric: lowest for losses and errors, highest for scores.
struct BestValueTracker {
    private(set) var best: [String: Double] = [:]

    mutating func observe(_ metrics: [String: Double]) {
        for (name, value) in metrics {
            let base = name.hasPrefix("val_") ? String(name.dropFirst(4)) : name
            let higherIsBetter = MetricName(rawValue: base)?.higherIsBetter ?? false
            if let current = best[name] {
                best[name] = higherIsBetter ? Swift.max(current, value) : Swift.min(current, value)
            } else {
                best[name] = value
            }
        }
    }
}
