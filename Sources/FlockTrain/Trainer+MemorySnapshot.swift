import FlockTensor
import Foundation

/// In-memory snapshots for a supervised job's keepers (see `MemorySnapshotSender`).
extension Trainer {
    /// Hands this rank's snapshot files to the sender when `snapshot_every_steps` is due
    /// mid-epoch (an epoch's end writes its disk checkpoint). Collective, like a checkpoint.
    func takeMemorySnapshotIfDue(epochMetricSums: [Double]) throws {
        guard let sender = memorySnapshots, optimizer.stepCount % sender.everySteps == 0,
              progress.position.batchInEpoch < sampler.batchesPerEpoch, try savedStateIsFinite() else { return }
        sender.send(step: optimizer.stepCount, files: try snapshotFiles(epochMetricSums: epochMetricSums))
    }

    /// This rank's part of a checkpoint of the current position, as bytes in memory: what
    /// `saveCheckpoint` would write, less the checksums (the supervisor that writes the
    /// pieces out as a checkpoint folder computes them). Rank 0's part has `state.json`
    /// and `config.yaml`. Collective.
    func snapshotFiles(epochMetricSums: [Double]) throws -> [String: Data] {
        try parts.synchronizeBuffers()
        let streams = try gatheredStreams(epochMetricSums: epochMetricSums)
        var files = try ownShardFiles().mapValues { try $0.encoded() }
        guard rank == 0 else { return files }
        let state = try trainingState(streams)
        files[Preprocessing.fileName] = try data.preprocessing.encoded()
        if parts.sharding.shardName == nil && shardedParameters == nil {
            files["model.safetensors"] = try SafeTensorsFile.model(parameters).encoded()
            if optimizerStateShard == nil { files["optimizer.safetensors"] = try SafeTensorsFile.buffers(optimizerState).encoded() }
            if let best = progress.bestWeights {
                files["best_model.safetensors"] = try SafeTensorsFile.values(best, layout: parameters.stateLayout).encoded()
            }
        }
        let encoder = JSONValue.encoder
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        files["state.json"] = try encoder.encode(state)
        files["config.yaml"] = Data(options.identity.utf8)
        return files
    }
}
