import Foundation
import Logging

/// One epoch's results: `loss` and metrics on the training data, `val_`-prefixed ones
/// on the validation split, the learning rate at the epoch's end and the throughput.
public struct EpochRecord: Sendable {
    public let epoch: Int
    public let metrics: [String: Double]
    public let learningRate: Float
    public let seconds: Double
    public let samplesPerSecond: Double
    /// Best value of each metric up to and including this epoch.
    public let best: [String: Double]
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
    /// The BLAS kernel the run used and how it was chosen.
    public var blas: BLASChoice? = nil

    enum CodingKeys: String, CodingKey {
        case best, final, blas
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
    /// The callbacks with their running state (decided on rank 0).
    public private(set) var callbacks: CallbacksConfig
    /// Factor on the scheduled learning rate (ReduceLROnPlateau, NaN rollbacks).
    public private(set) var learningRateScale = 1.0
    /// Where checkpoints go (rank 0 writes); nil: none.
    public var checkpointFolder: URL?
    /// Called after every optimizer step with (epoch, batches done, batches in epoch, loss).
    public var onBatch: ((BatchProgress) -> Void)?
    private var position = TrainingPosition()
    private var bestWeights: [Float]?
    private var tracker = BestValueTracker()
    private var samplesSeen = 0
    private var trainingSeconds = 0.0
    private var lastMetrics: [String: Double] = [:]
    private let configYAML: String

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
        callbacks = config.callbacks
        configYAML = try ConfigLoader.yaml(of: config)

        if let communicator, communicator.size > 1 {
            if let timeout = config.parallel.collectiveTimeout { communicator.deadline = timeout }
            let configHash = ModelConsistency.fnv1a(configYAML)
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

    /// Runs the remaining epochs; `onEpoch` sees each epoch's record (the same on every
    /// rank). Throws `NonFiniteLossError` when TerminateOnNaN stops the run.
    /// `onEpoch` may throw to end training at once (a sweep's pruner does); the error is rethrown.
    public func fit(onEpoch: (EpochRecord) throws -> Void = { _ in }) throws -> TrainingSummary {
        var last = lastMetrics
        var stoppedEarly = false
        var epochsRun = position.epoch
        epochs: while position.epoch < config.epochs {
            let epoch = position.epoch
            let started = DispatchTime.now().uptimeNanoseconds
            var learningRate = Float(config.optimizer.lr)
            var accumulator = MetricAccumulator(metrics: metricNames, loss: config.loss, classCount: data.classCount)
            let order = loader.order(epoch: epoch)
            let startBatch = position.batchInEpoch
            while position.batchInEpoch < sampler.batchesPerEpoch {
                let group = position.batchInEpoch..<min(position.batchInEpoch + config.parallel.accumulate, sampler.batchesPerEpoch)
                learningRate = currentLearningRate()
                let finite = try step(batches: group, order: order, learningRate: learningRate, accumulator: &accumulator)
                if !finite {
                    try handleNonFinite(epoch: epoch, batch: group.lowerBound)
                    continue epochs
                }
                position.batchInEpoch = group.upperBound
                onBatch?(BatchProgress(epoch: epoch + 1, batchesDone: position.batchInEpoch, batches: sampler.batchesPerEpoch,
                                       loss: accumulator.meanLoss,
                                       seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9,
                                       samples: min(position.batchInEpoch * config.data.batchSize, data.training.count)
                                           - min(startBatch * config.data.batchSize, data.training.count)))
                if let every = callbacks.modelCheckpoint?.everyNSteps, optimizer.stepCount % every == 0,
                   position.batchInEpoch < sampler.batchesPerEpoch {
                    try saveCheckpoint(name: String(format: "step-%08d", optimizer.stepCount), monitored: nil)
                }
            }
            try accumulator.reduce(across: communicator)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let samples = (startBatch..<sampler.batchesPerEpoch).reduce(0) { $0 + sampler.globalCount(ofBatch: $1) }
            trainingSeconds += seconds
            samplesSeen += samples
            var metrics = accumulator.values()
            if data.validation.count > 0 {
                metrics.merge(try evaluateValidationShard().values(prefix: "val_")) { $1 }
            }
            tracker.observe(metrics)
            last = metrics
            lastMetrics = metrics
            position = TrainingPosition(epoch: epoch + 1, batchInEpoch: 0)
            epochsRun = epoch + 1
            let stop = try epochEndCallbacks(epoch: epoch, metrics: metrics)
            // Log the epoch before checkpointing it: a kill in between resumes from the
            // previous checkpoint and logs the epoch again (resume drops the stale line),
            // where the other order would leave the epoch unlogged.
            try onEpoch(EpochRecord(epoch: epoch + 1, metrics: metrics, learningRate: learningRate, seconds: seconds,
                                samplesPerSecond: Double(samples) / Swift.max(seconds, 1e-9), best: tracker.best))
            if callbacks.modelCheckpoint != nil {
                try saveCheckpoint(name: String(format: "epoch-%04d", epoch + 1),
                                   monitored: callbacks.modelCheckpoint.flatMap { metrics[$0.monitor] })
            }
            if stop {
                stoppedEarly = true
                break
            }
        }
        try restoreBestWeightsAtEnd()
        return TrainingSummary(epochsRun: epochsRun, best: tracker.best, final: last, stoppedEarly: stoppedEarly,
                               worldSize: worldSize, samplesPerSecond: Double(samplesSeen) / Swift.max(trainingSeconds, 1e-9))
    }

    /// The scheduled learning rate for the next step, times the plateau/rollback factor.
    private func currentLearningRate() -> Float {
        Float(Double(schedule.learningRate(base: Float(config.optimizer.lr), step: optimizer.stepCount,
                                           stepsPerEpoch: stepsPerEpoch, totalSteps: stepsPerEpoch * config.epochs))
              * learningRateScale)
    }

    /// EarlyStopping and ReduceLROnPlateau, decided on rank 0 and broadcast, so every rank
    /// stops at the same step with the same learning rate. Returns whether to stop.
    private func epochEndCallbacks(epoch: Int, metrics: [String: Double]) throws -> Bool {
        // [stop, capture best weights, new learning-rate scale]
        var decision: [Double] = [0, 0, learningRateScale]
        if rank == 0 {
            if var early = callbacks.earlyStopping {
                let outcome = early.epochEnded(epoch, metrics: metrics)
                callbacks.earlyStopping = early
                decision[0] = outcome.stop ? 1 : 0
                decision[1] = outcome.captureWeights ? 1 : 0
            }
            if var plateau = callbacks.reduceLROnPlateau {
                let current = Double(currentLearningRate())
                if let reduced = plateau.epochEnded(metrics: metrics, learningRate: current), current > 0 {
                    decision[2] = learningRateScale * reduced / current
                }
                callbacks.reduceLROnPlateau = plateau
            }
        }
        if let communicator, communicator.size > 1 { decision = try communicator.broadcast(decision, root: 0) }
        if decision[1] == 1 && rank == 0 { bestWeights = parameters.snapshotParameters() }
        learningRateScale = decision[2]
        return decision[0] == 1
    }

    /// EarlyStopping's restore_best_weights, at the end of training (Keras 3): rank 0 holds
    /// the best weights and broadcasts them.
    private func restoreBestWeightsAtEnd() throws {
        guard callbacks.earlyStopping?.restoreBestWeights == true else { return }
        var restore: [Double] = [bestWeights == nil ? 0 : 1]
        if let communicator, communicator.size > 1 { restore = try communicator.broadcast(restore, root: 0) }
        guard restore[0] == 1 else { return }
        if let bestWeights { parameters.restoreParameters(bestWeights) }
        if let communicator, communicator.size > 1 {
            try parameters.withParameters { try communicator.broadcast($0, root: 0) }
        }
    }

    /// TerminateOnNaN: stop naming the step, or roll back to the last checkpoint with a
    /// lower learning rate.
    private func handleNonFinite(epoch: Int, batch: Int) throws {
        let error = NonFiniteLossError(step: optimizer.stepCount, epoch: epoch + 1, batch: batch + 1,
                                       detail: "non-finite loss or gradients")
        guard var guardCallback = callbacks.terminateOnNaN, guardCallback.action == .rollback, guardCallback.state.rollbacks < guardCallback.maxRollbacks,
              let folder = checkpointFolder ?? sharedCheckpointFolder,
              FileManager.default.fileExists(atPath: folder.appendingPathComponent("last").path) else { throw error }
        guardCallback.state.rollbacks += 1
        let scale = learningRateScale * guardCallback.lrFactor
        if rank == 0 {
            Logger(label: "flock.train").warning("\(error.detail) at step \(error.step) (epoch \(error.epoch), batch \(error.batch)): rolling back to the last checkpoint with the learning rate ×\(guardCallback.lrFactor) (rollback \(guardCallback.state.rollbacks) of \(guardCallback.maxRollbacks))")
        }
        try resume(from: Checkpoint.load(folder.appendingPathComponent("last"), expectingConfig: configYAML))
        guardCallback.state = TerminateOnNaN.State(rollbacks: guardCallback.state.rollbacks)
        callbacks.terminateOnNaN = guardCallback
        learningRateScale = scale
    }

    /// Where every rank can find rank 0's checkpoints (set on all ranks by `TrainingRun`).
    public var sharedCheckpointFolder: URL?

    // MARK: Checkpoints

    /// Writes a checkpoint (rank 0) of the current position; collective, because every
    /// rank's dropout generator state goes into it.
    private func saveCheckpoint(name: String, monitored: Double?) throws {
        var generators = [dropoutGenerator]
        if let communicator, communicator.size > 1 {
            let words = try communicator.allgather(dropoutGenerator.state.map { Int64(bitPattern: $0) })
            generators = words.map { RandomGenerator(state: $0.map { UInt64(bitPattern: $0) }) }
        }
        guard rank == 0, let folder = checkpointFolder else { return }
        // Decide what to keep first, so the state saved already lists this checkpoint.
        var checkpointing = callbacks.modelCheckpoint ?? ModelCheckpoint(saveBest: 0)
        let stale = checkpointing.added(name, value: monitored)
        if callbacks.modelCheckpoint != nil { callbacks.modelCheckpoint = checkpointing }
        let state = TrainingState(epoch: position.epoch, batchInEpoch: position.batchInEpoch, step: optimizer.stepCount,
                                  learningRateScale: learningRateScale, dropoutGenerators: generators,
                                  callbacks: callbacks.states, best: tracker.best, samplesSeen: samplesSeen,
                                  trainingSeconds: trainingSeconds, lastMetrics: lastMetrics, configHash: String(ModelConsistency.fnv1a(configYAML), radix: 16),
                                  worldSize: worldSize, files: [:])
        let bestModel = try bestWeights.map { try SafeTensors.encode($0, like: parameters) }
        try Checkpoint.write(name: name, in: folder, model: try SafeTensors.encode(parameters),
                             optimizer: try SafeTensors.encode(buffers: optimizer.stateBuffers), configYAML: configYAML,
                             bestModel: bestModel, state: state)
        for name in stale { try? FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
        onCheckpoint?(folder.appendingPathComponent(name), state)
    }

    /// Called on rank 0 after each checkpoint is written.
    public var onCheckpoint: ((URL, TrainingState) -> Void)?

    /// Continues from `checkpoint`: weights, optimizer state, position, RNG streams,
    /// callback states and learning-rate factor. Every rank calls it with the same checkpoint.
    public func resume(from checkpoint: Checkpoint) throws {
        try Checkpoint.assign(checkpoint.model, to: parameters, source: checkpoint.url.appendingPathComponent("model.safetensors").path)
        for (name, buffer) in checkpoint.optimizer where buffer.count != parameters.count {
            throw Checkpoint.LoadError(description: "\(checkpoint.url.path)/optimizer.safetensors: \(name) has \(buffer.count) values, the model has \(parameters.count) parameters")
        }
        do { try optimizer.restore(stateBuffers: checkpoint.optimizer, stepCount: checkpoint.state.step) } catch {
            throw Checkpoint.LoadError(description: "\(checkpoint.url.path)/optimizer.safetensors: \(error)")
        }
        let state = checkpoint.state
        position = TrainingPosition(epoch: state.epoch, batchInEpoch: state.batchInEpoch)
        learningRateScale = state.learningRateScale
        callbacks.restore(state.callbacks)
        tracker = BestValueTracker(best: state.best)
        samplesSeen = state.samplesSeen
        trainingSeconds = state.trainingSeconds
        lastMetrics = state.lastMetrics
        if state.dropoutGenerators.count == worldSize {
            dropoutGenerator = state.dropoutGenerators[rank]
        }
        if let best = checkpoint.bestModel, rank == 0 {
            bestWeights = try Checkpoint.flatten(best, like: parameters,
                                                 source: checkpoint.url.appendingPathComponent("best_model.safetensors").path)
        }
    }

    /// Epochs completed so far (after a resume, where training continues from).
    public var completedEpochs: Int { position.epoch }

    /// One optimizer step over the global batches `batches` (several when accumulating):
    /// forward and backward on this rank's slice of each, gradient averaging, penalties,
    /// clipping and the update.
    ///
    /// Each micro-batch's backward is seeded with n_r·N/G (n_r samples here, G in the
    /// whole step), so after averaging over N ranks the gradient is exactly the mean over
    /// all G samples, however unevenly a short batch fell across ranks.
    /// Returns false (and takes no step) when the loss or the averaged gradients are not finite.
    func step(batches: Range<Int>, order: [Int], learningRate: Float, accumulator: inout MetricAccumulator) throws -> Bool {
        var lossFinite = true
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
            lossFinite = lossFinite && objective.value.scalar.isFinite
            accumulator.add(meanLoss: objective.value.scalar, outputs: output.value, targets: targets)
        }
        communicator?.step = optimizer.stepCount
        try dataParallel?.finish()
        if callbacks.terminateOnNaN != nil {
            // The averaged gradients are the same on every rank, so every rank decides alike;
            // a rank's non-finite loss makes them non-finite too.
            let gradientsFinite = parameters.withGradients { gradients in gradients.allSatisfy { $0.isFinite } }
            if !gradientsFinite || (worldSize == 1 && !lossFinite) {
                parameters.zeroGradients()
                return false
            }
        }
        config.regularization.penalty.apply(to: parameters)
        if let limit = config.gradientClipping.maxValue { GradientClipping.clipByValue(parameters, limit: Float(limit)) }
        if let maxNorm = config.gradientClipping.maxNorm { GradientClipping.clipByNorm(parameters, maxNorm: Float(maxNorm)) }
        optimizer.step(parameters, learningRate: learningRate)
        return true
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

/// Where training stands: epochs completed and global batches done in the next one.
struct TrainingPosition {
    var epoch = 0
    var batchInEpoch = 0
}

/// Progress inside an epoch, for progress bars.
public struct BatchProgress: Sendable {
    /// 1-based.
    public let epoch: Int
    public let batchesDone: Int
    public let batches: Int
    /// Mean training loss so far this epoch (this rank).
    public let loss: Double
    /// Seconds since the epoch started.
    public let seconds: Double
    /// Samples (all ranks) trained on so far this epoch.
    public let samples: Int
    public var samplesPerSecond: Double { Double(samples) / max(seconds, 1e-9) }
}

/// Best value of each metric: lowest for losses and errors, highest for scores.
struct BestValueTracker {
    private(set) var best: [String: Double] = [:]

    init(best: [String: Double] = [:]) { self.best = best }

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
