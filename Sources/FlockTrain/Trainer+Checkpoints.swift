import Foundation

/// Writing checkpoints and resuming from them.
extension Trainer {
    /// Every callback's state, keyed as in `state.json`.
    func callbackStates() throws -> [String: JSONValue] {
        var states: [String: JSONValue] = [:]
        for callback in callbacks { states[callback.stateKey] = try callback.encodedState() }
        if let checkpointing = options.checkpointing {
            states[TrainingState.modelCheckpointKey] = try JSONValue(encoding: checkpointing.state)
        }
        if let nonFinite = options.nonFinite { states[TrainingState.terminateOnNaNKey] = try JSONValue(encoding: nonFinite.state) }
        return states
    }

    /// Takes back the states of `callbackStates()`; a callback with no saved state keeps its own.
    func restoreCallbackStates(_ states: [String: JSONValue], source: String) throws {
        do {
            for index in callbacks.indices {
                if let saved = states[callbacks[index].stateKey] { try callbacks[index].restoreState(saved) }
            }
            if let saved = states[TrainingState.modelCheckpointKey] {
                options.checkpointing?.state = try saved.decode(ModelCheckpoint.State.self)
            }
            if let saved = states[TrainingState.terminateOnNaNKey] {
                options.nonFinite?.state = try saved.decode(TerminateOnNaN.State.self)
            }
        } catch {
            throw Checkpoint.LoadError(description: "\(source): a callback state does not fit its callback: \(error)")
        }
    }

    /// Writes a checkpoint (rank 0) of the current position; collective, because every
    /// rank's dropout generator state (and, mid-epoch, its metric sums) goes into it.
    func saveCheckpoint(name: String, monitored: Double?, epochMetricSums: [Double]? = nil) throws {
        try strategy.synchronizeBuffers()
        var generators = [progress.dropoutGenerator]
        var sums = epochMetricSums.map { [$0] }
        if let world = strategy.world, world.size > 1 {
            let words = try world.allgather(progress.dropoutGenerator.state.map { Int64(bitPattern: $0) })
            generators = words.map { RandomGenerator(state: $0.map { UInt64(bitPattern: $0) }) }
            if let epochMetricSums { sums = try world.allgather(epochMetricSums) }
        }
        guard rank == 0, let folder = checkpointFolder else { return }
        // Decide what to keep first, so the state saved already lists this checkpoint.
        var checkpointing = options.checkpointing ?? ModelCheckpoint(saveBest: 0)
        let stale = checkpointing.added(name, value: monitored)
        if options.checkpointing != nil { options.checkpointing = checkpointing }
        let state = TrainingState(epoch: progress.position.epoch, batchInEpoch: progress.position.batchInEpoch,
                                  step: optimizer.stepCount, learningRateScale: progress.learningRateScale,
                                  dropoutGenerators: generators, callbacks: try callbackStates(), best: progress.tracker.best,
                                  samplesSeen: progress.samplesSeen, trainingSeconds: progress.trainingSeconds,
                                  lastMetrics: progress.lastMetrics,
                                  configHash: String(ModelConsistency.fnv1a(options.identity), radix: 16),
                                  worldSize: worldSize, files: [:], epochMetricSums: sums)
        let bestModel = try progress.bestWeights.map { try SafeTensors.encode($0, like: parameters) }
        try Checkpoint.write(name: name, in: folder, model: try SafeTensors.encode(parameters),
                             optimizer: try SafeTensors.encode(buffers: optimizer.stateBuffers), configYAML: options.identity,
                             bestModel: bestModel, state: state)
        for name in stale { try? FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
        onCheckpoint?(folder.appendingPathComponent(name), state)
    }

    /// Continues from `checkpoint`: weights and buffers, optimizer state, position, RNG
    /// streams, callback states and learning-rate factor. Every rank calls it with the
    /// same checkpoint.
    public func resume(from checkpoint: Checkpoint) throws {
        try checkPosition(checkpoint.state, source: checkpoint.url.appendingPathComponent("state.json").path)
        try Checkpoint.assign(checkpoint.model, to: parameters, source: checkpoint.url.appendingPathComponent("model.safetensors").path)
        for (name, buffer) in checkpoint.optimizer where buffer.count != parameters.count {
            throw Checkpoint.LoadError(description: "\(checkpoint.url.path)/optimizer.safetensors: \(name) has \(buffer.count) values, the model has \(parameters.count) parameters")
        }
        do { try optimizer.restore(stateBuffers: checkpoint.optimizer, stepCount: checkpoint.state.step) } catch {
            throw Checkpoint.LoadError(description: "\(checkpoint.url.path)/optimizer.safetensors: \(error)")
        }
        let state = checkpoint.state
        try restoreCallbackStates(state.callbacks, source: checkpoint.url.appendingPathComponent("state.json").path)
        progress.position = TrainingPosition(epoch: state.epoch, batchInEpoch: state.batchInEpoch)
        progress.learningRateScale = state.learningRateScale
        progress.tracker = BestValueTracker(best: state.best)
        progress.samplesSeen = state.samplesSeen
        progress.trainingSeconds = state.trainingSeconds
        progress.lastMetrics = state.lastMetrics
        if state.dropoutGenerators.count == worldSize {
            progress.dropoutGenerator = state.dropoutGenerators[rank]
        }
        progress.resumedEpochSums = state.epochMetricSums.flatMap { $0.count == worldSize ? $0[rank] : nil }
        if let best = checkpoint.bestModel, rank == 0 {
            progress.bestWeights = try Checkpoint.flatten(best, like: parameters,
                                                          source: checkpoint.url.appendingPathComponent("best_model.safetensors").path)
        }
    }

    /// Checks a checkpoint's position against this job before anything is restored: a
    /// state that does not fit (another data file, a hand-edited or foreign state.json)
    /// is an error naming the field, never a trap later.
    func checkPosition(_ state: TrainingState, source: String) throws {
        func fail(_ field: String, _ message: String) -> Checkpoint.LoadError {
            Checkpoint.LoadError(description: "\(source): \(field): \(message)")
        }
        guard (0...options.epochs).contains(state.epoch) else {
            throw fail("epoch", "\(state.epoch) is outside this run's 0...\(options.epochs) epochs")
        }
        guard (0...sampler.batchesPerEpoch).contains(state.batchInEpoch) else {
            throw fail("batch_in_epoch", "\(state.batchInEpoch) is outside the \(sampler.batchesPerEpoch) batches of an epoch of this data")
        }
        guard state.step >= 0 else { throw fail("step", "expected a step ≥ 0, got \(state.step)") }
        guard state.learningRateScale.isFinite, state.learningRateScale >= 0 else {
            throw fail("learning_rate_scale", "expected a finite factor ≥ 0, got \(state.learningRateScale)")
        }
        // Another world size resumes, but not exactly: its streams and sums are not used.
        if let sums = state.epochMetricSums, sums.count == worldSize {
            let expected = MetricAccumulator(metrics: metricNames, loss: loss, classCount: data.classCount).packedSums.count
            for (index, rankSums) in sums.enumerated() {
                // Counts and sums of squares: finite, and counts (all but the loss sum) whole and ≥ 0.
                guard rankSums.count == expected, rankSums.allSatisfy(\.isFinite), rankSums[1] >= 0, rankSums[1] < 1e15 else {
                    throw fail("epoch_metric_sums", "rank \(index)'s sums do not fit this model's metrics")
                }
            }
        }
    }
}
