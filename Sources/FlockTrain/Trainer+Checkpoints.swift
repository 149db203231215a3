import FlockParallel
import FlockStore
import FlockTensor
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
        try parts.synchronizeBuffers()
        let streams = try gatheredStreams(epochMetricSums: epochMetricSums)
        let delivery = try deliverShardFiles(try ownShardFiles(), name: name)
        guard rank == 0, let folder = checkpointFolder else { return }
        // Decide what to keep first, so the state saved already lists this checkpoint.
        var checkpointing = options.checkpointing ?? ModelCheckpoint(saveBest: 0)
        let stale = checkpointing.added(name, value: monitored)
        if options.checkpointing != nil { options.checkpointing = checkpointing }
        let state = try trainingState(streams)
        var files = delivery.files
        files[Preprocessing.fileName] = .bytes(try data.preprocessing.encoded())
        if parts.sharding.shardName == nil && shardedParameters == nil {
            // Streamed from the parameter buffer and the optimizer's moments: no copy.
            files["model.safetensors"] = .tensors(.model(parameters))
            if optimizerStateShard == nil { files["optimizer.safetensors"] = .tensors(.buffers(optimizerState)) }
            files["best_model.safetensors"] = progress.bestWeights.map { .tensors(.values($0, layout: parameters.stateLayout)) }
        }
        try Checkpoint.write(name: name, in: folder, files: files, configYAML: options.identity, state: state,
                             prepared: delivery.prepared, written: delivery.written, afterEachStep: checkpointWriteHook ?? {})
        for name in stale { try? FileManager.default.removeItem(at: folder.appendingPathComponent(name)) }
        for observer in observers { observer.checkpointWritten(folder.appendingPathComponent(name), state: state) }
    }

    /// Every rank's dropout stream and, mid-epoch, metric sums, on every rank. Collective.
    func gatheredStreams(epochMetricSums: [Double]?) throws -> (generators: [RandomGenerator], sums: [[Double]]?) {
        guard let world = parts.world, world.size > 1 else { return ([progress.dropoutGenerator], epochMetricSums.map { [$0] }) }
        let words = try world.allgather(progress.dropoutGenerator.state.map { Int64(bitPattern: $0) })
        let generators = words.map { RandomGenerator(state: $0.map { UInt64(bitPattern: $0) }) }
        return (generators, try epochMetricSums.map { try world.allgather($0) })
    }

    /// The current position as `state.json` records it (its `files` still empty).
    func trainingState(_ streams: (generators: [RandomGenerator], sums: [[Double]]?)) throws -> TrainingState {
        TrainingState(epoch: progress.position.epoch, batchInEpoch: progress.position.batchInEpoch,
                      step: optimizer.stepCount, learningRateScale: progress.learningRateScale,
                      dropoutGenerators: streams.generators, callbacks: try callbackStates(), best: progress.tracker.best,
                      samplesSeen: progress.samplesSeen, trainingSeconds: progress.trainingSeconds,
                      lastMetrics: progress.lastMetrics,
                      configHash: String(ModelConsistency.fnv1a(options.identity), radix: 16),
                      worldSize: worldSize, files: [:], epochMetricSums: streams.sums, layout: parts.layoutRecord,
                      precision: precision.used, convolutions: parameters.convolutions.flatMap { $0.choices.isEmpty ? nil : $0.choiceList },
                      matrixProducts: parameters.matrixProducts.perShapeChoices,
                      stoppedEarly: progress.stoppedEarly ? true : nil)
    }

    /// Continues from `checkpoint`: weights and buffers, optimizer state, position, RNG
    /// streams, callback states and learning-rate factor. Every rank calls it with the
    /// same checkpoint, which may come from another layout (each rank takes its part of
    /// the global tensors); the dropout streams and mid-epoch sums carry over only when
    /// the layout is the same; the returned notes say what did not (empty for an exact resume).
    @discardableResult
    public func resume(from checkpoint: Checkpoint) throws -> [String] {
        try checkPosition(checkpoint.state, source: checkpoint.url.appendingPathComponent("state.json").path)
        try keepPrecision(checkpoint.state.precision ?? .float32, source: checkpoint.url.appendingPathComponent("state.json").path)
        keepConvolutionKernels(checkpoint.state.convolutions)
        keepMatrixProductKernels(checkpoint.state.matrixProducts)
        let modelSource = checkpoint.url.appendingPathComponent("model.safetensors").path
        if let extra = checkpoint.modelTensors.unexpectedNames(Set(model.parameters.stateLayout.map(\.name))).first {
            throw Checkpoint.LoadError(description: "\(modelSource): has a tensor \(extra) that the model does not")
        }
        try restoreWeights(from: checkpoint.modelTensors, source: modelSource)
        do { try restoreOptimizerState(try localOptimizerState(checkpoint), stepCount: checkpoint.state.step) } catch let error as Checkpoint.LoadError {
            throw error
        } catch {
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
        progress.stoppedEarly = state.stoppedEarly ?? false
        // Per-rank streams and sums carry over only to the same layout (the same world size
        // in another layout holds other shards and data slices).
        let written = state.layout ?? .init(data: state.worldSize, pipeline: 1, tensor: 1)
        let sameLayout = written == (parts.layoutRecord ?? .init(data: 1, pipeline: 1, tensor: 1))
        if sameLayout && state.dropoutGenerators.count == worldSize {
            progress.dropoutGenerator = state.dropoutGenerators[rank]
        }
        progress.resumedEpochSums = sameLayout ? state.epochMetricSums.flatMap { $0.count == worldSize ? $0[rank] : nil } : nil
        if let best = checkpoint.bestModelTensors {
            progress.bestWeights = try bestWeights(from: best, source: checkpoint.url.appendingPathComponent("best_model.safetensors").path)
        }
        return resumeNotes(state)
    }

    /// This rank's parameters and buffers (state layout) cut out of global tensors.
    func localState(from global: GlobalTensors, source: String) throws -> [Float] {
        var flat: [Float] = []
        flat.reserveCapacity(parameters.stateCount)
        for entry in parameters.stateLayout {
            flat += try global.extract(entry.name, placement: placement(of: entry.name, localShape: entry.shape), source: source)
        }
        return flat
    }

    /// This rank's optimizer buffers from a checkpoint's, whole (flat in the whole model's
    /// slot order) or sharded (per parameter). Only this rank's values are read.
    func localOptimizerState(_ checkpoint: Checkpoint) throws -> [String: [Float]] {
        let source = checkpoint.url.appendingPathComponent("optimizer.safetensors").path
        if let flat = checkpoint.flatOptimizer {
            let whole = model.parameters
            let slots = Dictionary(uniqueKeysWithValues: whole.slots.map { ($0.name, $0) })
            var local: [String: [Float]] = [:]
            for key in flat.names.sorted() {
                guard flat.shape(of: key) == [whole.count] else {
                    throw Checkpoint.LoadError(description: "\(source): \(key) has \(flat.shape(of: key)!.reduce(1, *)) values, the model has \(whole.count) parameters")
                }
                // An unsharded rank takes the buffers as they are.
                if parameters === whole && optimizerStateShard == nil {
                    local[key] = try flat.extract(key, placement: .whole([whole.count]), source: source)
                    continue
                }
                // Otherwise each parameter's run of the flat buffer, cut to this rank's part.
                local[key] = try parameters.slots.flatMap { slot -> [Float] in
                    let range = slots[slot.name]!.range
                    let values = try flat.extract(key, placement: .slice(of: [whole.count], axis: 0, start: range.lowerBound, length: range.count),
                                                  source: source)
                    guard let placed = optimizerPlacement(of: slot) else { return [] }
                    var part = [Float](repeating: 0, count: placed.localShape.reduce(1, *))
                    values.withUnsafeBufferPointer { global in part.withUnsafeMutableBufferPointer { placed.extract(from: global, into: $0) } }
                    return part
                }
            }
            return local
        }
        let global = checkpoint.optimizerTensors ?? GlobalTensors()
        // `<buffer>/<parameter>`; a buffer of one of several phases is `<phase>/<buffer>`.
        let keys = Set(global.names.compactMap { name in name.lastIndex(of: "/").map { String(name[..<$0]) } })
        var local: [String: [Float]] = [:]
        for key in keys.sorted() {
            local[key] = try parameters.slots.flatMap { slot -> [Float] in
                guard let placed = optimizerPlacement(of: slot) else { return [] }
                return try global.extract("\(key)/\(slot.name)", placement: placed, source: source)
            }
        }
        return local
    }

    /// Where this rank's optimizer values of `slot` lie in the global tensor: its part of
    /// the parameter, or under ZeRO its rows of that part (nil when it holds none).
    func optimizerPlacement(of slot: ParameterSlot) -> ShardPlacement? {
        let placed = placement(of: slot.name, localShape: slot.shape)
        guard let zero = optimizerStateShard else { return placed }
        guard zero.store.slots[slot.index].count > 0 else { return nil }
        return Self.narrowed(placed, to: zero.placement(of: slot))
    }

    func placement(of name: String, localShape: [Int]) -> ShardPlacement {
        parts.sharding.placement(ofTensor: name) ?? .whole(localShape)
    }

    /// Sets this rank's weights and buffers from `checkpoint` (any layout), leaving the
    /// optimizer and position alone (`flock evaluate`, `predict`).
    public func loadWeights(from checkpoint: Checkpoint) throws {
        let source = checkpoint.url.appendingPathComponent("model.safetensors").path
        if let extra = checkpoint.modelTensors.unexpectedNames(Set(model.parameters.stateLayout.map(\.name))).first {
            throw Checkpoint.LoadError(description: "\(source): has a tensor \(extra) that the model does not")
        }
        try restoreWeights(from: checkpoint.modelTensors, source: source)
    }

    /// Sets this rank's weights and buffers (those in `names`; all when nil) from global
    /// tensors; under ZeRO stage 3 only its rows of each weight are read and set (the rest
    /// stays given back).
    func restoreWeights(from global: GlobalTensors, source: String, only names: Set<String>? = nil) throws {
        guard let sharded = shardedParameters, let zero = optimizerStateShard else {
            guard let names else { return parameters.restoreState(try localState(from: global, source: source)) }
            return try parameters.restore(names, from: global, source: source) { placement(of: $0, localShape: $1) }
        }
        // A layer gathered ahead holds the rows being replaced.
        try sharded.dropPrefetch()
        zero.setOwnValues(try ownRows(of: zero, from: global, source: source, only: names)[...])
        let buffers = parameters.bufferSlots.map(\.name).filter { names?.contains($0) ?? true }
        try parameters.restore(Set(buffers), from: global, source: source) { .whole($1) }
    }

    /// `init_from` for a rank that started from the model's description (zero 3, or a
    /// shard): what to load is decided on the whole model's names and shapes, then the rank
    /// reads only its part of each loaded tensor (its rows) from the checkpoint's files;
    /// the rest keep their initial values. No rank holds the whole model.
    func initializeOwnPart(from settings: InitFromConfig) throws -> InitializationReport {
        let (report, checkpoint) = try InitializationReport.matching(model.parameters.stateLayout, from: settings)
        try restoreWeights(from: checkpoint.modelTensors, source: checkpoint.url.appendingPathComponent("model.safetensors").path,
                           only: Set(report.loaded))
        return report
    }

    /// The whole model's parameters and buffers (in `model.parameters`' state layout) on
    /// rank 0, put together from every shard; nil on the other ranks. Collective.
    public func wholeModelState() throws -> [Float]? {
        // Under ZeRO stage 3 every rank holds its whole model or shard for this moment (the
        // fallback without a shared folder): each layer's rows gathered, copied, given back.
        let sharded = shardedParameters
        sharded?.gatherAll()
        defer { sharded?.releaseAll() }
        try sharded?.rethrow()
        guard parts.sharding.shardName != nil else { return rank == 0 ? parameters.snapshotState() : nil }
        let mine = parts.dataRank == 0 ? ["model.rank-\(rank).safetensors": try encodedShard(parameters.snapshotState())] : [:]
        guard let files = try gatherOnRankZero(mine) else { return nil }
        var global = GlobalTensors()
        for (name, data) in files.sorted(by: { $0.key < $1.key }) {
            let (tensors, placements) = try ShardedState.decode(data, path: name)
            try global.add(tensors, placements: placements, source: name)
        }
        return try model.parameters.stateLayout.flatMap { entry in
            try global.extract(entry.name, placement: .whole(entry.shape), source: "the gathered shards")
        }
    }

    /// Where each of this rank's parameters and buffers sits in the whole model.
    var shardPlacements: [String: ShardPlacement] {
        Dictionary(uniqueKeysWithValues: parameters.stateLayout.map { ($0.name, placement(of: $0.name, localShape: $0.shape)) })
    }

    /// `state` (this rank's state layout) as a shard file.
    func encodedShard(_ state: [Float]) throws -> Data {
        try ShardedState.encode(layout: parameters.stateLayout, values: state, placements: shardPlacements)
    }

    /// Every shard owner's `files` on rank 0 (nil on the other ranks). Collective.
    func gatherOnRankZero(_ files: [String: Data]) throws -> [String: Data]? {
        guard let world = parts.world else { return files }
        guard rank == 0 else {
            if parts.dataRank == 0 { try FileTransfer.send(files, to: 0, over: world) }
            return nil
        }
        var gathered = files
        for owner in parts.sharding.shardOwnerRanks where owner != 0 {
            gathered.merge(try FileTransfer.receive(from: owner, over: world)) { $1 }
        }
        return gathered
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
        guard state.samplesSeen >= 0 else { throw fail("samples_seen", "expected a count ≥ 0, got \(state.samplesSeen)") }
        guard state.trainingSeconds.isFinite, state.trainingSeconds >= 0 else {
            throw fail("training_seconds", "expected a finite time ≥ 0, got \(state.trainingSeconds)")
        }
        try checkWorld(state, fail)
        // Another world size resumes, but not exactly: its streams and sums are not used.
        if let sums = state.epochMetricSums, sums.count == worldSize {
            let expected = makeAccumulator().packedSums.count
            for (index, rankSums) in sums.enumerated() {
                // Counts and sums of squares: finite, and counts (all but the loss sum) whole and ≥ 0.
                guard rankSums.count == expected, rankSums.allSatisfy(\.isFinite), rankSums[1] >= 0, rankSums[1] < 1e15 else {
                    throw fail("epoch_metric_sums", "rank \(index)'s sums do not fit this model's metrics")
                }
            }
        }
    }
}

extension Trainer {
    /// The writing job's world as `state.json` records it: a positive world size that its
    /// layout multiplies out to, and one live dropout stream per rank (the streams are
    /// what makes a resume exact; a missing one would silently start afresh).
    func checkWorld(_ state: TrainingState, _ fail: (String, String) -> Checkpoint.LoadError) throws {
        guard (1...(1 << 20)).contains(state.worldSize) else {
            throw fail("world_size", "expected a rank count in 1...\(1 << 20), got \(state.worldSize)")
        }
        if let layout = state.layout {
            let sizes = [layout.data, layout.pipeline, layout.tensor]
            guard sizes.allSatisfy({ (1...state.worldSize).contains($0) }),
                  layout.data * layout.pipeline * layout.tensor == state.worldSize else {
                throw fail("layout", "data \(layout.data) × pipeline \(layout.pipeline) × tensor \(layout.tensor) does not make world_size \(state.worldSize)")
            }
        }
        guard state.dropoutGenerators.count == state.worldSize else {
            throw fail("dropout_generators", "expected one stream per rank (\(state.worldSize)), got \(state.dropoutGenerators.count)")
        }
        // xoshiro256** never leaves the all-zero state: such a stream was not written by a run.
        if let dead = state.dropoutGenerators.firstIndex(where: { $0.state.allSatisfy { $0 == 0 } }) {
            throw fail("dropout_generators[\(dead)]", "an all-zero generator state, which draws only zeros")
        }
    }

    /// What a resume from `state` into this job cannot carry over exactly, in words for
    /// the user; empty when it resumes byte for byte.
    func resumeNotes(_ state: TrainingState) -> [String] {
        let written = state.layout ?? .init(data: state.worldSize, pipeline: 1, tensor: 1)
        let here = parts.layoutRecord ?? .init(data: 1, pipeline: 1, tensor: 1)
        guard written != here else { return [] }
        func describe(_ layout: TrainingState.LayoutRecord) -> String {
            let ranks = layout.data * layout.pipeline * layout.tensor
            return "\(ranks) rank\(ranks == 1 ? "" : "s") (data \(layout.data) × pipeline \(layout.pipeline) × tensor \(layout.tensor))"
        }
        var notes = ["the checkpoint was written by \(describe(written)) and resumes on \(describe(here)): weights, optimizer state and the epoch position carry over"]
        notes.append("each rank's dropout stream starts afresh from the seed, so the run is not byte-identical to one that kept its layout")
        if written.data != here.data {
            notes.append("the data-parallel width changed (\(written.data) → \(here.data)): each replica reads batch_size/\(here.data) samples of the same global batches")
        }
        if state.epochMetricSums != nil && state.batchInEpoch > 0 {
            notes.append("the metrics of the interrupted epoch count only the batches after the resume")
        }
        return notes
    }
}

extension StepParts {
    /// The layout `state.json` records.
    var layoutRecord: TrainingState.LayoutRecord? {
        layout.map { .init(data: $0.dataParallelSize, pipeline: $0.pipelineStages, tensor: $0.tensorWidth) }
    }
}
