import Foundation

/// Writing checkpoints and resuming from them.
extension Trainer {
    /// Every callback's state, keyed as in `state.json`.
    func callbackStates() throws -> [String: JSONValue] {
        var states: [String: JSONValue] = [:]
        for callback in callbacks { states[callback.stateKey] = try callback.encodedState() }
        if let checkpointing = options.checkpointing { states["model_checkpoint"] = try JSONValue(encoding: checkpointing.state) }
        if let nonFinite = options.nonFinite { states["terminate_on_nan"] = try JSONValue(encoding: nonFinite.state) }
        return states
    }

    /// Takes back the states of `callbackStates()`; a callback with no saved state keeps its own.
    func restoreCallbackStates(_ states: [String: JSONValue], source: String) throws {
        do {
            for index in callbacks.indices {
                if let saved = states[callbacks[index].stateKey] { try callbacks[index].restoreState(saved) }
            }
            if let saved = states["model_checkpoint"] { options.checkpointing?.state = try saved.decode(ModelCheckpoint.State.self) }
            if let saved = states["terminate_on_nan"] { options.nonFinite?.state = try saved.decode(TerminateOnNaN.State.self) }
        } catch {
            throw Checkpoint.LoadError(description: "\(source): a callback state does not fit its callback: \(error)")
        }
    }

    /// Writes a checkpoint (rank 0) of the current position; collective, because every
    /// rank's dropout generator state (and, mid-epoch, its metric sums) goes into it.
    func saveCheckpoint(name: String, monitored: Double?, epochMetricSums: [Double]? = nil) throws {
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
        progress.resumedEpochSums = nil
        if let sums = state.epochMetricSums, sums.count == worldSize {
            let expected = MetricAccumulator(metrics: metricNames, loss: loss, classCount: data.classCount).packedSums.count
            guard sums[rank].count == expected else {
                throw Checkpoint.LoadError(description: "\(checkpoint.url.path)/state.json: epoch_metric_sums of rank \(rank) has \(sums[rank].count) values, this model's metrics need \(expected)")
            }
            progress.resumedEpochSums = sums[rank]
        }
        if let best = checkpoint.bestModel, rank == 0 {
            progress.bestWeights = try Checkpoint.flatten(best, like: parameters,
                                                          source: checkpoint.url.appendingPathComponent("best_model.safetensors").path)
        }
    }
}
