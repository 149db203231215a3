import FlockData
import FlockNN
import FlockStore

/// How a `Trainer` trains, apart from the model, data, loss, optimizer, callbacks and
/// step strategy: the loop's hyperparameters and the coordinator's policies.
///
/// ```swift
/// var options = TrainingOptions()
/// options.epochs = 20
/// options.batchSize = 64                       // global batch, split over data-parallel ranks
/// options.schedule = LearningRateSchedule(CosineSchedule(minLR: 0))
/// options.checkpointing = ModelCheckpoint(monitor: "val_accuracy")
/// ```
public struct TrainingOptions: Sendable {
    public var epochs = 10
    /// The global batch: all data-parallel ranks together.
    public var batchSize = 32
    /// Rows per chunk of evaluation (nil: `batchSize`).
    public var evalBatchSize: Int?
    /// Reshuffle the training data every epoch.
    public var shuffle = true
    /// Seeds shuffling and dropout (initialization is the model's).
    public var seed: UInt64 = 0
    /// The base learning rate the schedule scales.
    public var learningRate: Double = 0.001
    public var schedule = LearningRateSchedule()
    /// A phase's own schedule by phase name, at the phase's base rate (`learningRate` ×
    /// its `learningRateScale`); a phase not named follows `schedule`, scaled.
    public var phaseSchedules: [String: LearningRateSchedule] = [:]
    /// Global batches per optimizer step (gradient accumulation).
    public var accumulate = 1
    /// ZeRO stage: 1 shards the optimizer's state across the data group (`OptimizerStateShard`).
    public var zeroStage = 0
    /// Under ZeRO stage 3, whether the next layer's rows are gathered ahead
    /// (`ShardedParameterResidency.prefetches`).
    public var prefetchesParameters = true
    /// Metrics besides the loss; empty: accuracy for classification, MSE for regression.
    public var metrics: [MetricName] = []
    /// L1/L2 penalties on weights (not biases).
    public var penalty = WeightPenalty(l1: 0, l2: 0)
    public var clipValue: Float?
    /// Keeps each weight row's norm within a radius after every update (nil: none).
    public var maxNorm: MaxNormConstraint?
    /// Perturbs the weights for each step's gradients (nil: none).
    public var weightNoise: WeightNoise?
    public var clipNorm: Float?
    /// Which checkpoints to write and keep (nil: none).
    public var checkpointing: ModelCheckpoint?
    /// What to do when the loss or the gradients stop being finite (nil: keep going).
    public var nonFinite: TerminateOnNaN? = TerminateOnNaN()
    /// The text that identifies the job (the resolved config YAML): its hash must agree
    /// across ranks, checkpoints record it, and resuming checks it. Empty: the model's
    /// layers as JSON.
    public var identity = ""
    /// Random transforms of each training micro-batch (nil: none), keyed by `seed`.
    public var augmentation: Augmentation?
    /// Draw each epoch's samples with replacement, each class equally often on average.
    public var balancedSampling = false
    /// The inputs of the matrix products (Dense, attention); weights, gradients and
    /// optimizer state stay Float32. Resolved at start-up (`MixedPrecision`).
    public var precision = PrecisionChoice.float32
    /// Which library runs each Float32 matrix product (`Float32MatrixProducts`).
    public var matrixKernels = MatrixKernelChoice.auto

    public init() {}

    /// Checks every value a library user may set; the error names the option.
    public func validate() throws {
        try Check.positive(epochs, "options.epochs")
        try Check.positive(batchSize, "options.batchSize")
        try Check.positive(accumulate, "options.accumulate")
        guard learningRate.isFinite, learningRate >= 0 else {
            throw ConfigError(path: "options.learningRate", "expected a number ≥ 0, got \(learningRate)")
        }
        if let clipValue { try Check.positive(Double(clipValue), "options.clipValue") }
        if let clipNorm { try Check.positive(Double(clipNorm), "options.clipNorm") }
        if let every = checkpointing?.everyNSteps { try Check.positive(every, "options.checkpointing.everyNSteps") }
    }

    /// The metrics to compute for `loss`, defaults filled in.
    func resolvedMetrics(for loss: Loss) -> [MetricName] {
        if metrics.isEmpty { return loss.embedsLabels ? [] : MetricName.defaults(classification: loss.isClassification) }
        return metrics
    }

    /// Optimizer steps in an epoch of `sampleCount` samples.
    public func stepsPerEpoch(sampleCount: Int) -> Int {
        let batches = (sampleCount + batchSize - 1) / batchSize
        return (batches + accumulate - 1) / accumulate
    }
}
