import FlockData
import FlockNN
import FlockParallel
import FlockStore
import FlockTensor
import Foundation

/// Trains a model: the loop alone. It runs epochs over the data, asks its step's parts
/// (`StepParts`: a train step, a gradient sync and a sharding plan) for each optimizer
/// step's gradients, runs each phase's gradient chain (finite check, penalties, clipping,
/// the update, constraints) over its parameter groups, evaluates, runs the callbacks and
/// writes checkpoints. It does not know which parts it holds.
///
/// ```swift
/// let model = try Model([.dense(units: 128, activation: .relu), .dense(units: 10)], inputShape: [64], seed: 1)
/// var options = TrainingOptions()
/// options.epochs = 20
/// let trainer = try Trainer(model: model, data: data, loss: .crossEntropy(labelSmoothing: 0, classWeights: nil),
///                           optimizer: Adam(), callbacks: [EarlyStopping(patience: 3)], options: options)
/// let summary = try trainer.fit { print($0.metrics) }
/// ```
///
/// With data-parallel parts every rank builds the same model, the start-up check
/// compares the models and configs, rank 0's parameters are broadcast, each rank reads
/// its slice of every global batch, and metrics are reduced across ranks, so
/// `val_accuracy` is the accuracy on the whole validation set, as in a one-rank run.
public final class Trainer {
    public let model: Model
    /// This rank's memory at its peak, estimated at start-up (printed by `flock train`).
    public let memoryEstimate: MemoryEstimate
    public let data: TrainingData
    public let loss: Loss
    /// Epoch-end callbacks with their running state (decided on rank 0).
    public internal(set) var callbacks: [any Callback]
    /// What one optimizer step is made of.
    public let parts: StepParts
    public internal(set) var options: TrainingOptions
    /// Where checkpoints go (rank 0 writes); nil: none.
    public var checkpointFolder: URL?
    /// Where every rank can find rank 0's checkpoints (for NaN rollbacks).
    public var sharedCheckpointFolder: URL?
    /// What watches training (logging, files, the store, TensorBoard, a pruner); see
    /// `TrainingObserver`.
    public var observers: [any TrainingObserver] = []
    /// Runs after each file of a checkpoint is written and after its folder is committed
    /// (rank 0): fault-injection tests pause here so a kill lands mid-write.
    public var checkpointWriteHook: (() -> Void)?
    /// A supervised job's in-memory snapshots (`elastic.snapshot_every_steps`), sent to its keepers.
    public var memorySnapshots: MemorySnapshotSender?
    /// What `init_from` loaded, skipped and left fresh (nil: the config has no init_from).
    public internal(set) var initializationReport: InitializationReport?
    let sampleOrder: SampleOrder
    let sampler: DistributedSampler
    let metricNames: [MetricName]
    var progress: TrainingProgress
    /// Each phase of the step with its parameter groups, optimizer and gradient chain.
    var phaseUpdates: [PhaseUpdate] = []
    /// The matrix products' precision and why (`options.precision` resolved at start-up;
    /// a resume keeps the checkpoint's).
    public internal(set) var precision: PrecisionRecord

    /// The parameters this rank trains: the model's, or its shard's under model parallelism.
    public var parameters: ParameterStore { parts.parameters(of: model) }
    /// The first phase's optimizer (the only one of a config's step).
    public var optimizer: any Optimizer { phaseUpdates[0].update.optimizer }
    /// Checkpoint policy and state (ModelCheckpoint), if checkpointing.
    public var checkpointing: ModelCheckpoint? { options.checkpointing }
    /// TerminateOnNaN's policy and state, if on.
    public var nonFinite: TerminateOnNaN? { options.nonFinite }
    public var rank: Int { parts.worldRank }
    public var worldSize: Int { parts.worldSize }

    /// Checks that the parts fit together and prepares the step's parts (collective: the
    /// start-up check and broadcast of a parallel job). Throws a `ConfigError` naming
    /// what does not fit. Each phase of `step` without an optimizer of its own updates
    /// with a fresh copy of `optimizer`.
    public init(model: Model, data: TrainingData, loss: Loss, optimizer: any Optimizer,
                callbacks: [any Callback] = [], step: StepParts = .singleRank(),
                options: TrainingOptions = TrainingOptions()) throws {
        MemoryTuning.retainFreedMemory()
        try options.validate()
        let dataRanks = step.dataGroupSize
        guard options.batchSize % dataRanks == 0 else {
            throw ConfigError(path: "data.batch_size",
                              "the global batch of \(options.batchSize) does not split evenly over \(dataRanks) ranks")
        }
        try Self.checkFit(model: model, data: data, loss: loss, phases: step.step.phases)
        let reserved = [TrainingState.modelCheckpointKey, TrainingState.terminateOnNaNKey]
        let keys = callbacks.map(\.stateKey) + reserved
        if let duplicate = keys.first(where: { key in keys.filter { $0 == key }.count > 1 }) {
            throw ConfigError(path: "callbacks", "two callbacks save their state under '\(duplicate)' (\(reserved.joined(separator: " and ")) are the trainer's own)")
        }
        self.model = model
        self.data = data
        self.loss = loss
        self.callbacks = callbacks
        parts = step
        var options = options
        if options.identity.isEmpty { options.identity = Self.identity(of: model, loss: loss, optimizer: optimizer, options: options) }
        self.options = options
        sampleOrder = SampleOrder(count: data.training.count, shuffle: options.shuffle, seed: options.seed,
                                  window: data.shuffleWindow,
                                  sampler: options.balancedSampling ? .balancingClasses(data.training.targets.scalars) : nil)
        sampler = DistributedSampler(sampleCount: data.training.count, globalBatchSize: options.batchSize,
                                     rank: step.dataRank, worldSize: dataRanks)
        metricNames = options.resolvedMetrics(for: loss)
        precision = PrecisionRecord(configured: options.precision)
        progress = TrainingProgress(dropoutGenerator: RandomGenerator(seed: options.seed,
                                                                     stream: SeedStream.dropout &+ UInt64(step.worldRank) << 32))
        try step.prepare(model: model, configHash: ModelConsistency.fnv1a(options.identity))
        // Before the optimizer allocates its state: a layout that cannot fit stops here.
        memoryEstimate = Self.memoryEstimate(model: model, parts: step, optimizer: optimizer, data: data, options: options)
        try Self.checkEveryRankFits(memoryEstimate, world: step.world)
        phaseUpdates = Self.phaseUpdates(of: step, model: model, optimizer: optimizer, options: options)
        try usePrecision(options.precision)
        shardedParameters?.prefetches = options.prefetchesParameters
    }

    /// Optimizer steps per epoch (one per `accumulate` global batches).
    public var stepsPerEpoch: Int { options.stepsPerEpoch(sampleCount: data.training.count) }

    /// Epochs completed so far (after a resume, where training continues from).
    public var completedEpochs: Int { progress.position.epoch }

    /// Runs the remaining epochs; `onEpoch` sees each epoch's record (the same on every
    /// rank), after the observers. Throws `NonFiniteLossError` when TerminateOnNaN stops
    /// the run. `onEpoch` (or an observer) may throw to end training at once; the error is
    /// rethrown.
    public func fit(onEpoch: (EpochRecord) throws -> Void = { _ in }) throws -> TrainingSummary {
        for observer in observers { observer.trainingBegan(self) }
        do {
            let summary = try runEpochs(onEpoch: onEpoch)
            for observer in observers { observer.trainingEnded(.success(summary)) }
            return summary
        } catch {
            for observer in observers { observer.trainingEnded(.failure(error)) }
            throw error
        }
    }

    private func runEpochs(onEpoch: (EpochRecord) throws -> Void) throws -> TrainingSummary {
        // A job resumed from the checkpoint of the epoch it stopped at ends again.
        var stoppedEarly = progress.stoppedEarly
        var epochsRun = progress.position.epoch
        epochs: while !stoppedEarly && progress.position.epoch < options.epochs {
            let epoch = progress.position.epoch
            let started = DispatchTime.now().uptimeNanoseconds
            var learningRate = Float(options.learningRate)
            var phaseRates = phaseLearningRates(trainerRate: currentLearningRate())
            var accumulator = makeAccumulator()
            if let sums = progress.resumedEpochSums, progress.position.batchInEpoch > 0 { accumulator.restore(packedSums: sums) }
            progress.resumedEpochSums = nil
            let order = sampleOrder.order(epoch: epoch)
            let startBatch = progress.position.batchInEpoch
            while progress.position.batchInEpoch < sampler.batchesPerEpoch {
                let group = progress.position.batchInEpoch..<min(progress.position.batchInEpoch + options.accumulate, sampler.batchesPerEpoch)
                learningRate = currentLearningRate()
                phaseRates = phaseLearningRates(trainerRate: learningRate)
                guard try step(batches: group, order: order, learningRate: learningRate, accumulator: &accumulator) else {
                    try handleNonFinite(epoch: epoch, batch: group.lowerBound)
                    continue epochs
                }
                progress.position.batchInEpoch = group.upperBound
                reportBatch(epoch: epoch, startBatch: startBatch, started: started, loss: accumulator.meanLoss)
                if let every = options.checkpointing?.everyNSteps, optimizer.stepCount % every == 0,
                   progress.position.batchInEpoch < sampler.batchesPerEpoch {
                    guard try savedStateIsFinite() else {
                        try handleNonFinite(epoch: epoch, batch: group.lowerBound, detail: Self.nonFiniteStateDetail)
                        continue epochs
                    }
                    try saveCheckpoint(name: String(format: "step-%08d", optimizer.stepCount), monitored: nil,
                                       epochMetricSums: accumulator.packedSums)
                }
                try takeMemorySnapshotIfDue(epochMetricSums: accumulator.packedSums)
            }
            // What the epoch's checkpoint would save must be finite (finite gradients can
            // still overflow a moment or a weight); checked before the epoch is logged.
            if options.checkpointing != nil, try !savedStateIsFinite() {
                try handleNonFinite(epoch: epoch, batch: sampler.batchesPerEpoch - 1, detail: Self.nonFiniteStateDetail)
                continue epochs
            }
            try accumulator.reduce(across: parts.dataGroup)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            let samples = (startBatch..<sampler.batchesPerEpoch).reduce(0) { $0 + sampler.globalCount(ofBatch: $1) }
            var metrics = accumulator.values()
            if data.validation.count > 0 {
                metrics.merge(try evaluateValidationShard().values(prefix: "val_")) { $1 }
            }
            progress.finishEpoch(epoch, metrics: metrics, seconds: seconds, samples: samples)
            epochsRun = epoch + 1
            let stop = try epochEndCallbacks(epoch: epoch, metrics: metrics)
            progress.stoppedEarly = stop
            // Log the epoch before checkpointing it: a kill in between resumes from the
            // previous checkpoint and logs the epoch again (resume drops the stale line),
            // where the other order would leave the epoch unlogged.
            let record = EpochRecord(epoch: epoch + 1, metrics: metrics, learningRate: learningRate, seconds: seconds,
                                     samplesPerSecond: Double(samples) / Swift.max(seconds, 1e-9), best: progress.tracker.best,
                                     phaseLearningRates: phaseRates)
            for observer in observers { try observer.epochEnded(record) }
            try onEpoch(record)
            if let checkpointing = options.checkpointing {
                try saveCheckpoint(name: String(format: "epoch-%04d", epoch + 1), monitored: metrics[checkpointing.monitor])
            }
            try takeMemorySnapshotIfDue(epochMetricSums: nil, afterDiskCheckpoint: options.checkpointing != nil)
            if stop {
                stoppedEarly = true
                break
            }
        }
        try restoreBestWeightsAtEnd()
        // Under stage 3 the last evaluation's last gather started the next layer's, in
        // place in the store: dropped, so the trained model holds this rank's rows only.
        try shardedParameters?.dropPrefetch()
        return TrainingSummary(epochsRun: epochsRun, best: progress.tracker.best, final: progress.lastMetrics,
                               stoppedEarly: stoppedEarly, worldSize: worldSize,
                               samplesPerSecond: Double(progress.samplesSeen) / Swift.max(progress.trainingSeconds, 1e-9),
                               precision: precision)
    }

    private func reportBatch(epoch: Int, startBatch: Int, started: UInt64, loss: Double) {
        guard !observers.isEmpty else { return }
        let done = progress.position.batchInEpoch, count = data.training.count, batch = options.batchSize
        let report = BatchProgress(epoch: epoch + 1, batchesDone: done, batches: sampler.batchesPerEpoch, loss: loss,
                                   seconds: Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9,
                                   samples: min(done * batch, count) - min(startBatch * batch, count))
        for observer in observers { observer.batchEnded(report) }
    }

    /// The scheduled learning rate for the next step, times the plateau/rollback factor.
    func currentLearningRate() -> Float {
        scheduledRate(options.schedule, base: Float(options.learningRate), step: optimizer.stepCount)
    }

    /// `phase`'s learning rate in optimizer step `step`, when the trainer's is
    /// `trainerRate`: its own schedule's at its own base rate, times the plateau/rollback
    /// factor (one factor for every phase: one monitored metric), or else `trainerRate`
    /// scaled by the phase's ratio. A function of the step, so a resume needs no state.
    func learningRate(of phase: StepPhase, step: Int, trainerRate: Float) -> Float {
        guard let schedule = options.phaseSchedules[phase.name] else { return trainerRate * phase.learningRateScale }
        return scheduledRate(schedule, base: Float(options.learningRate) * phase.learningRateScale, step: step)
    }

    /// Each phase's learning rate for the next step by name, when the step has several
    /// phases or one with its own schedule (recorded as `lr_<phase>`); else empty.
    func phaseLearningRates(trainerRate: Float) -> [String: Float] {
        guard phaseUpdates.count > 1 || !options.phaseSchedules.isEmpty else { return [:] }
        return Dictionary(uniqueKeysWithValues: phaseUpdates.map {
            ($0.phase.name, learningRate(of: $0.phase, step: optimizer.stepCount, trainerRate: trainerRate))
        })
    }

    private func scheduledRate(_ schedule: LearningRateSchedule, base: Float, step: Int) -> Float {
        Float(Double(schedule.learningRate(base: base, step: step, stepsPerEpoch: stepsPerEpoch, totalSteps: stepsPerEpoch * options.epochs))
              * progress.learningRateScale)
    }

    /// The data's features must be the model's input, and the model's output what the
    /// loss needs for these targets.
    static func checkFit(model: Model, data: TrainingData, loss: Loss, phases: [StepPhase] = []) throws {
        guard data.training.count > 0 else { throw ConfigError(path: "data", "the training split has no samples") }
        guard data.training.featureShape == model.inputShape else {
            throw ConfigError(path: "model", "the model takes inputs of shape \(model.inputShape) but the data's samples have shape \(data.training.featureShape)")
        }
        // A layer list's output against what the first term reads (embeddings have any width).
        if model.graph == nil, !loss.embedsLabels {
            let produced = model.outputShape.reduce(1, *), expected = data.expectedOutputWidth(for: loss)
            guard produced == expected else {
                let lastDense = model.layers.lastIndex { $0.type == Dense.Spec.typeName } ?? model.layers.count - 1
                throw ConfigError(path: "model[\(lastDense)].units",
                                  "the model outputs \(produced) values per sample but loss '\(loss.name)' on this data needs \(expected)\(data.classCount.map { " (\($0) classes)" } ?? "")" + oneBasedLabelHint(data, loss: loss))
            }
        }
        for (index, input) in (model.graph?.inputs ?? []).enumerated() where input.fromLabels {
            if let classes = data.classCount, classes > input.shape[0] {
                throw ConfigError(path: "model.inputs[\(index)].shape", "the labels name \(classes) classes but input '\(input.name)' is a one-hot row of \(input.shape[0])")
            }
        }
        try checkTerms(of: loss, path: "loss", model: model, data: data)
        for (index, phase) in phases.enumerated() {
            if let phaseLoss = phase.loss { try checkTerms(of: phaseLoss, path: "phases[\(index)].loss", model: model, data: data) }
        }
    }

    /// Each term of `loss` (at `path` in the config): its class weights against the classes,
    /// and its output against what it compares it with, by element count per sample.
    static func checkTerms(of loss: Loss, path: String, model: Model, data: TrainingData) throws {
        let targetsPerSample = data.training.targets.count / max(data.training.count, 1)
        var inputWidths = [LossTarget.features.rawValue: data.training.featureShape.reduce(1, *)]
        for input in model.graph?.inputs ?? [] { inputWidths[input.name] = input.columns.count }
        for (index, term) in loss.terms.enumerated() {
            let termPath = loss.terms.count == 1 ? path : "\(path)[\(index)]"
            if let weights = term.kind.classWeightCount, weights != data.classCount ?? 1 {
                throw ConfigError(path: "\(termPath).class_weights", "expected \(data.classCount ?? 1) weights (one per class), got \(weights)")
            }
            let width: Int
            try term.kind.checkOutput(width: model.outputShape(of: term.output).reduce(1, *), path: "\(termPath).output")
            if term.target.constant != nil || (term.target == .targets && term.kind.embedsLabels) {
                continue   // a number, or labels of embeddings of any width (triplet)
            } else if term.target == .targets {
                width = term.kind.reading == .values ? targetsPerSample : (term.kind.reading == .classLogits ? data.classCount ?? 1 : 1)
            } else {
                width = inputWidths[term.target.rawValue] ?? 0
            }
            let produced = model.outputShape(of: term.output).reduce(1, *)
            // Logits per target element: (T, V) against T ids, so a multiple of the targets.
            if term.kind.scoresEachTarget, width > 0, produced % width == 0, produced > width { continue }
            guard width != produced else { continue }
            guard model.graph != nil else {
                throw ConfigError(path: "\(termPath).target", "loss '\(term.kind.name)' compares the model's \(produced) outputs per sample with \(width) \(term.target.rawValue) per sample")
            }
            throw ConfigError(path: "\(termPath).output", "loss '\(term.kind.name)' compares output '\(term.output)' (\(produced) values per sample) with \(width) \(term.target.rawValue) per sample")
        }
    }

    /// For class labels 1…K (no 0): classes are numbered from 0, so K labels ask for K+1
    /// outputs; say so.
    static func oneBasedLabelHint(_ data: TrainingData, loss: Loss) -> String {
        guard loss.primary is CrossEntropyLoss, data.preprocessing.classNames == nil, let classes = data.classCount,
              let smallest = (data.training.targets.scalars + data.validation.targets.scalars).min(), smallest >= 1 else { return "" }
        return "; the labels run from \(Int(smallest)) to \(classes - 1) and classes are numbered from 0, so label \(classes - 1) asks for \(classes) outputs — subtract 1 from the labels, or write them as class names"
    }

    /// A job's identity when no config names it: the model's layers as JSON, the loss, the
    /// optimizer and the options that shape the run (so ranks or a resume that differ in
    /// them are caught).
    static func identity(of model: Model, loss: Loss, optimizer: any Optimizer, options: TrainingOptions) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let encoded = model.graph.map { try? encoder.encode($0.config) } ?? (try? encoder.encode(model.layers))
        let layers = encoded.map { String(decoding: $0, as: UTF8.self) } ?? "\(model.layers.map(\.type))"
        return [layers, "input \(model.inputShape)", "loss \(loss)", "optimizer \(optimizer)",
                "epochs \(options.epochs) batch \(options.batchSize) shuffle \(options.shuffle) seed \(options.seed)",
                "lr \(options.learningRate) schedule \(options.schedule) accumulate \(options.accumulate)",
                "penalty \(options.penalty) clip \(String(describing: options.clipValue)) \(String(describing: options.clipNorm))"]
            .joined(separator: "\n")
    }
}

/// Independent random streams of one job, derived from the config seed.
enum SeedStream {
    static let dropout: UInt64 = 2
}
