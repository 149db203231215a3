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

/// Trains a model described by a `TrainingConfig`, on one rank or as one rank of a
/// data-parallel job.
///
/// ```swift
/// let config = try ConfigLoader.load(path: "examples/digits-mlp.yaml")
/// let trainer = try Trainer(config: config)
/// let summary = try trainer.fit { record in print(record.metrics) }
/// ```
///
/// With a communicator of N ranks, every rank builds the same model, the start-up check
/// compares the models and configs, rank 0's parameters are broadcast, each rank reads
/// its slice of every global batch, gradients are averaged bucket by bucket during
/// backward, and metrics are reduced across ranks, so `val_accuracy` is the accuracy on
/// the whole validation set, as in a one-rank run.
public final class Trainer {
    public let config: TrainingConfig
    public let data: TrainingData
    public let parameters = ParameterStore()
    public let model: Sequential
    public let loss: Loss
    public private(set) var optimizer: any Optimizer
    public let schedule: LearningRateSchedule
    public let communicator: (any Communicator)?
    public let dataParallel: DataParallel?
    private let loader: DataLoader
    private let sampler: DistributedSampler
    private let tape: Tape
    private let metricNames: [MetricName]
    private var dropoutGenerator: RandomGenerator

    public var rank: Int { communicator?.rank ?? 0 }
    public var worldSize: Int { communicator?.size ?? 1 }

    /// Reads the data and builds the model; throws `DataError` or `ConfigError` naming
    /// what is wrong, before any training starts. With a communicator this is collective.
    public init(config: TrainingConfig, communicator: (any Communicator)? = nil) throws {
        try config.validate()
        self.config = config
        self.communicator = communicator
        let worldSize = communicator?.size ?? 1, rank = communicator?.rank ?? 0
        guard config.data.batchSize % worldSize == 0 else {
            throw ConfigError(path: "data.batch_size",
                              "the global batch of \(config.data.batchSize) does not split evenly over \(worldSize) ranks")
        }
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
        sampler = DistributedSampler(sampleCount: data.training.count, globalBatchSize: config.data.batchSize,
                                     rank: rank, worldSize: worldSize)
        let optimizerSteps = (sampler.batchesPerEpoch + config.parallel.accumulate - 1) / config.parallel.accumulate
        schedule = try config.schedule.makeSchedule(stepsPerEpoch: optimizerSteps, path: "schedule")
        tape = Tape(parameters: parameters)
        metricNames = config.resolvedMetrics
        dropoutGenerator = RandomGenerator(seed: UInt64(config.seed), stream: SeedStream.dropout &+ UInt64(rank) << 32)

        if let communicator, communicator.size > 1 {
            if let timeout = config.parallel.collectiveTimeout { communicator.deadline = timeout }
            let configHash = ModelConsistency.fnv1a(try ConfigLoader.yaml(of: config))
            try ModelConsistency.verify(parameters, configHash: configHash, communicator: communicator)
            let parallel = try DataParallel(parameters: parameters, communicator: communicator,
                                            bucketBytes: config.parallel.bucketBytes, overlap: config.parallel.overlap)
            try parallel.broadcastParameters(root: 0)
            parallel.attach(to: tape)
            dataParallel = parallel
        } else {
            dataParallel = nil
        }
    }

    /// Optimizer steps per epoch (one per `parallel.accumulate` global batches).
    public var stepsPerEpoch: Int {
        (sampler.batchesPerEpoch + config.parallel.accumulate - 1) / config.parallel.accumulate
    }

    /// Runs all epochs; `onEpoch` sees each epoch's record (the same on every rank).
    public func fit(onEpoch: (EpochRecord) -> Void = { _ in }) throws -> TrainingSummary {
        var tracker = BestValueTracker()
        var last: [String: Double] = [:]
        var trainingSeconds = 0.0
        var trainingSamples = 0
        for epoch in 0..<config.epochs {
            let started = DispatchTime.now().uptimeNanoseconds
            var learningRate = Float(config.optimizer.lr)
            var accumulator = MetricAccumulator(metrics: metricNames, loss: config.loss, classCount: data.classCount)
            let order = loader.order(epoch: epoch)
            let accumulate = config.parallel.accumulate
            var first = 0
            while first < sampler.batchesPerEpoch {
                let group = first..<min(first + accumulate, sampler.batchesPerEpoch)
                learningRate = schedule.learningRate(base: Float(config.optimizer.lr), step: optimizer.stepCount,
                                                     stepsPerEpoch: stepsPerEpoch, totalSteps: stepsPerEpoch * config.epochs)
                try step(batches: group, order: order, learningRate: learningRate, accumulator: &accumulator)
                first = group.upperBound
            }
            try accumulator.reduce(across: communicator)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            trainingSeconds += seconds
            trainingSamples += data.training.count
            var metrics = accumulator.values()
            if data.validation.count > 0 {
                metrics.merge(try evaluateValidationShard().values(prefix: "val_")) { $1 }
            }
            tracker.observe(metrics)
            last = metrics
            onEpoch(EpochRecord(epoch: epoch + 1, metrics: metrics, learningRate: learningRate, seconds: seconds,
                                samplesPerSecond: Double(data.training.count) / Swift.max(seconds, 1e-9)))
        }
        return TrainingSummary(epochsRun: config.epochs, best: tracker.best, final: last, stoppedEarly: false,
                               worldSize: worldSize, samplesPerSecond: Double(trainingSamples) / Swift.max(trainingSeconds, 1e-9))
    }

    /// One optimizer step over the global batches `batches` (several when accumulating):
    /// forward and backward on this rank's slice of each, gradient averaging, penalties,
    /// clipping and the update.
    ///
    /// Each micro-batch's backward is seeded with n_r·N/G (n_r samples here, G in the
    /// whole step), so after averaging over N ranks the gradient is exactly the mean over
    /// all G samples, however unevenly a short batch fell across ranks.
    func step(batches: Range<Int>, order: [Int], learningRate: Float, accumulator: inout MetricAccumulator) throws {
        let stepSamples = batches.reduce(0) { $0 + sampler.globalCount(ofBatch: $1) }
        for batchIndex in batches {
            let indices = sampler.indices(ofBatch: batchIndex, order: order)
            dataParallel?.prepare(synchronize: batchIndex == batches.upperBound - 1)
            guard !indices.isEmpty else { continue }
            let features = data.training.features.gatherRows(indices), targets = data.training.targets.gatherRows(indices)
            tape.reset()
            var context = ForwardContext(tape: tape, isTraining: true, generator: dropoutGenerator)
            let output = model.forward(tape.constant(features), context: &context)
            dropoutGenerator = context.generator
            let objective = loss(output, target: targets)
            tape.backward(from: objective, seed: Float(indices.count * worldSize) / Float(stepSamples))
            accumulator.add(meanLoss: objective.value.scalar, outputs: output.value, targets: targets)
        }
        communicator?.step = optimizer.stepCount
        try dataParallel?.finish()
        config.regularization.penalty.apply(to: parameters)
        if let limit = config.gradientClipping.maxValue { GradientClipping.clipByValue(parameters, limit: Float(limit)) }
        if let maxNorm = config.gradientClipping.maxNorm { GradientClipping.clipByNorm(parameters, maxNorm: Float(maxNorm)) }
        optimizer.step(parameters, learningRate: learningRate)
    }

    /// Loss and metrics of the current model on `dataset`, in inference mode (this rank only).
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

    /// This rank's slice of the validation split, evaluated and reduced across ranks:
    /// every sample is counted once, none dropped, whatever the world size.
    private func evaluateValidationShard() throws -> MetricAccumulator {
        let shard = DistributedSampler.shard(rank, of: worldSize, count: data.validation.count)
        var accumulator = shard.isEmpty
            ? MetricAccumulator(metrics: metricNames, loss: config.loss, classCount: data.classCount)
            : evaluate(worldSize == 1 ? data.validation : data.validation.subset(Array(shard)))
        try accumulator.reduce(across: communicator)
        return accumulator
    }

    /// Loss, metrics and (for classifiers) the confusion matrix on the validation split.
    public func evaluateValidation() throws -> (metrics: [String: Double], confusion: ConfusionMatrix?) {
        let accumulator = try evaluateValidationShard()
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
