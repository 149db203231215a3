import FlockParallel
import FlockTensor

/// Under ZeRO stage 3 a rank holds only its rows of the weights: copies of them (the best
/// weights) and what it reads from files are in the rows' compact layout (each
/// parameter's rows back to back, as `OptimizerStateShard.store` lays them out).
extension Trainer {
    /// Under ZeRO stage 3, which rows of the weights this rank holds; nil otherwise.
    var ownRowsOfWeights: OptimizerStateShard? { shardedParameters == nil ? nil : optimizerStateShard }

    /// This rank's rows of every parameter, in the compact layout, from `global`: those of
    /// the tensors in `names` (all when nil) read from it, the others' as they are now.
    func ownRows(of zero: OptimizerStateShard, from global: GlobalTensors, source: String,
                 only names: Set<String>? = nil) throws -> [Float] {
        var compact = names == nil ? [Float](repeating: 0, count: zero.store.count) : zero.ownValues()
        for (slot, part) in zip(parameters.slots, zero.store.slots) where names?.contains(slot.name) ?? true {
            guard let rows = optimizerPlacement(of: slot) else { continue }
            compact.replaceSubrange(part.range, with: try global.extract(slot.name, placement: rows, source: source))
        }
        return compact
    }

    /// The weights EarlyStopping keeps as the best: the first replica's of each shard (its
    /// state layout), or under ZeRO stage 3 every rank's rows, then the buffers.
    func captureBestWeights() {
        if let zero = ownRowsOfWeights {
            progress.bestWeights = zero.ownValues() + parameters.withBuffers { Array($0) }
        } else if parts.dataRank == 0 {
            progress.bestWeights = parameters.snapshotState()
        }
    }

    /// Puts back what `captureBestWeights` kept (on the ranks that kept it).
    func restoreBestWeights(_ best: [Float]) throws {
        guard let zero = ownRowsOfWeights else { return parameters.restoreState(best) }
        // A layer gathered ahead holds the rows being replaced.
        try shardedParameters?.dropPrefetch()
        zero.setOwnValues(best[..<zero.store.count])
        parameters.withBuffers { _ = $0.update(fromContentsOf: best[zero.store.count...]) }
    }

    /// The best weights a checkpoint holds, as `captureBestWeights` keeps them on this rank
    /// (nil where this rank keeps none).
    func bestWeights(from best: GlobalTensors, source: String) throws -> [Float]? {
        guard let zero = ownRowsOfWeights else { return parts.dataRank == 0 ? try localState(from: best, source: source) : nil }
        return try ownRows(of: zero, from: best, source: source)
            + parameters.bufferSlots.flatMap { try best.extract($0.name, placement: .whole($0.shape), source: source) }
    }
}
