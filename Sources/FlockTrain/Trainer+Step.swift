import FlockData
import FlockNN
import FlockParallel
import FlockTensor

/// One optimizer step and evaluation.
extension Trainer {
    /// One optimizer step over the global batches `batches` (several when accumulating):
    /// for each phase of the step, its parts compute this rank's share of the gradients
    /// and synchronize them, then the phase's gradient chain runs (penalties, clipping, the
    /// update).
    ///
    /// Each micro-batch's backward is seeded with n_r·N/G (n_r samples here, G in the
    /// whole step), so after averaging over N ranks the gradient is exactly the mean over
    /// all G samples, however unevenly a short batch fell across ranks.
    /// Returns false (and takes no further phase) when a phase's loss or averaged gradients
    /// are not finite.
    func step(batches: Range<Int>, order: [Int], learningRate: Float, accumulator: inout MetricAccumulator) throws -> Bool {
        let stepSamples = batches.reduce(0) { $0 + sampler.globalCount(ofBatch: $1) }
        let dataRanks = parts.dataGroupSize
        let stepNumber = optimizer.stepCount
        let microBatches = try batches.map { batchIndex in
            let indices = sampler.indices(ofBatch: batchIndex, order: order)
            let epoch = progress.position.epoch
            let rows = try data.training.batch(indices, epoch: epoch)
            var features = rows.features, targets = rows.targets
            if let augmentation = options.augmentation {
                if augmentation.mixup > 0, loss.acceptsClassDistributions, let classes = data.classCount {
                    (features, targets) = try augmentation.mix(features, samples: indices, dataset: data.training,
                                                           classCount: classes, epoch: epoch, seed: options.seed)
                }
                features = augmentation.apply(features, samples: indices, epoch: epoch, seed: options.seed)
            }
            return MicroBatch(features: features, targets: targets,
                              gradientScale: Float(indices.count * dataRanks) / Float(stepSamples),
                              sampleNoise: SampleNoise(seed: UInt64(options.seed), step: stepNumber, samples: indices))
        }
        for (index, phase) in phaseUpdates.enumerated() where phase.phase.runs(atStep: stepNumber) {
            let clean = try options.weightNoise.map { try perturbWeights($0, step: stepNumber) }
            parameters.gradientSkippedSlots = phase.skippedSlots
            let outcomes = try parts.computeGradients(microBatches, phase: phase.phase, loss: phase.phase.loss ?? loss, step: stepNumber,
                                                      generator: &progress.dropoutGenerator)
            if let clean { restoreWeights(clean) }
            for outcome in outcomes { accumulator.add(phase: index, meanLoss: outcome.loss, samples: outcome.targets.shape.first ?? 0) }
            // Metrics come from the step's last phase, on the steps it runs (a GAN reports its generator's).
            if index == phaseUpdates.count - 1 {
                for (outcome, batch) in zip(outcomes, microBatches) {
                    accumulator.add(meanLoss: outcome.loss, outputs: outcome.outputs,
                                    targets: loss.metricTargets(outcome.targets, inputs: model.inputTensors(batch.features, readBy: loss, firstTermOnly: true)))
                }
            }
            var update = GradientUpdate(parameters: parameters, groups: phase.groups, sharding: parts.sharding,
                                        learningRate: self.learningRate(of: phase.phase, step: stepNumber, trainerRate: learningRate), lossFinite: outcomes.allSatisfy(\.loss.isFinite),
                                        dataGroupSize: parts.dataGroupSize)
            if let shard = phase.update.shard, shard.gradientsAreSharded {
                update.gradientRows = shard
                if !shard.gathersAfterUpdate { update.valueRows = shard }
            }
            guard try phase.chain.apply(update) else { return false }
        }
        return true
    }

    /// An empty accumulator of this job's metrics (regression metrics in the data's units),
    /// with each phase's loss when the step has several.
    func makeAccumulator() -> MetricAccumulator {
        MetricAccumulator(metrics: metricNames, loss: loss, classCount: data.classCount,
                          targetScaling: loss.primaryTarget == .targets ? data.preprocessing.targetScaling : nil,
                          phases: phaseUpdates.count > 1 ? phaseUpdates.map(\.phase.name) : [])
    }

    /// Loss and metrics of the current model on `positions` of `samples` (all of them by
    /// default), in inference mode (this rank only), in chunks of `eval_batch_size` (the
    /// training batch size by default): the peak memory of evaluation follows the chunk,
    /// not the split's size.
    ///
    /// Under ZeRO stage 3 every layer's forward gathers its parameters from the whole data
    /// group, so the ranks run in step: one with fewer chunks runs a placeholder forward of
    /// one sample for each it lacks, and counts nothing from it.
    func evaluate(_ samples: any SampleSource, positions: Range<Int>? = nil) throws -> MetricAccumulator {
        var accumulator = makeAccumulator()
        let positions = positions ?? 0..<samples.count
        let chunk = max(options.evalBatchSize ?? options.batchSize, 1)
        let starts = Array(stride(from: positions.lowerBound, to: positions.upperBound, by: chunk))
        var chunks = starts.count
        if parts.sync.parameterResidency != nil, let group = parts.dataGroup {
            chunks = Int(try group.allreduce([Int64(starts.count)], operation: .max)[0])
        }
        for index in 0..<chunks {
            guard index < starts.count else {
                let placeholder = try samples.batch([0])
                _ = try parts.evaluate(features: placeholder.features, targets: placeholder.targets, loss: loss)
                continue
            }
            let start = starts[index]
            let batch = try samples.batch(Array(start..<min(start + chunk, positions.upperBound)))
            let outcome = try parts.evaluate(features: batch.features, targets: batch.targets, loss: loss)
            accumulator.add(meanLoss: outcome.loss, outputs: outcome.outputs,
                            targets: loss.metricTargets(outcome.targets, inputs: model.inputTensors(batch.features, readBy: loss, firstTermOnly: true)))
        }
        return accumulator
    }

    /// This rank's slice of the validation split, evaluated and reduced across the data
    /// group: every sample is counted once, none dropped, whatever the world size.
    func evaluateValidationShard() throws -> MetricAccumulator {
        try parts.synchronizeBuffers()
        let dataRanks = parts.dataGroupSize
        let shard = DistributedSampler.shard(parts.dataRank, of: dataRanks, count: data.validation.count)
        let inStep = parts.sync.parameterResidency != nil && data.validation.count > 0
        var accumulator = shard.isEmpty && !inStep ? makeAccumulator() : try evaluate(data.validation, positions: shard)
        try accumulator.reduce(across: parts.dataGroup)
        return accumulator
    }

    /// Loss, metrics and (for classifiers) the confusion matrix on the validation split.
    public func evaluateValidation() throws -> (metrics: [String: Double], confusion: ConfusionMatrix?) {
        let accumulator = try evaluateValidationShard()
        return (accumulator.values(prefix: "val_"), accumulator.confusionMatrix)
    }
}
