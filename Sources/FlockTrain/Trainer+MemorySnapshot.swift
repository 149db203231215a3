import FlockTensor
import Foundation

/// In-memory snapshots for a supervised job's keepers (see `MemorySnapshotSender`).
extension Trainer {
    /// Hands this rank's snapshot to the sender when `snapshot_every_steps` is due: after
    /// a step mid-epoch, or once an epoch has ended when its last step was due (nil sums;
    /// not when the epoch's disk checkpoint was just written, which a restart prefers).
    /// Collective, like a checkpoint.
    func takeMemorySnapshotIfDue(epochMetricSums: [Double]?, afterDiskCheckpoint: Bool = false) throws {
        guard let sender = memorySnapshots, !afterDiskCheckpoint, optimizer.stepCount % sender.everySteps == 0,
              progress.position.batchInEpoch < sampler.batchesPerEpoch, try savedStateIsFinite() else { return }
        let begun = DispatchTime.now().uptimeNanoseconds
        let files = try snapshotFiles(epochMetricSums: epochMetricSums)
        sender.send(step: optimizer.stepCount, files: files, trainingSeconds: Double(DispatchTime.now().uptimeNanoseconds - begun) / 1e9)
    }

    /// This rank's part of a checkpoint of the current position, as what makes its files
    /// in memory: what `saveCheckpoint` would write, less the checksums (the supervisor
    /// that writes the pieces out as a checkpoint folder computes them). Rank 0's part has
    /// `state.json` and `config.yaml`. The training thread gathers the streams and copies
    /// the values (weights, moments: plain copies); the returned closure, run by the
    /// sending thread, encodes them. Collective.
    func snapshotFiles(epochMetricSums: [Double]?) throws -> @Sendable () throws -> [String: Data] {
        try parts.synchronizeBuffers()
        let streams = try gatheredStreams(epochMetricSums: epochMetricSums)
        // A shard's files stream from live stores: encoded here, while they hold still.
        var files = try ownShardFiles().mapValues { try $0.encoded() }
        guard rank == 0 else { return { [files] in files } }
        files["config.yaml"] = Data(options.identity.utf8)
        let position = try trainingState(streams), preprocessing = data.preprocessing
        let whole = parts.sharding.shardName == nil && shardedParameters == nil
        let layout = whole ? parameters.stateLayout.map { Layout(name: $0.name, shape: $0.shape) } : []
        let state = whole ? parameters.snapshotState() : [], best = whole ? progress.bestWeights : nil
        let moments = whole && optimizerStateShard == nil ? optimizerState : nil
        return { [files] in
            var all = files
            let encoder = JSONValue.encoder
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            all["state.json"] = try encoder.encode(position)
            all[Preprocessing.fileName] = try preprocessing.encoded()
            guard whole else { return all }
            let tensors = layout.map { ($0.name, $0.shape) }
            all["model.safetensors"] = try SafeTensorsFile.values(state, layout: tensors).encoded()
            if let moments { all["optimizer.safetensors"] = try SafeTensorsFile.buffers(moments).encoded() }
            if let best { all["best_model.safetensors"] = try SafeTensorsFile.values(best, layout: tensors).encoded() }
            return all
        }
    }
}

/// One tensor's name and shape, as a value the sending thread may take.
private struct Layout: Sendable {
    var name: String
    var shape: [Int]
}
