import FlockParallel
import FlockTensor
import Foundation

/// The checkpoint files a rank writes itself: its shard's under model parallelism, its
/// optimizer rows under ZeRO.
extension Trainer {
    /// Where a checkpoint's per-rank files went: on rank 0, the files still to write and
    /// the hashes of those the ranks wrote into `prepared`, the checkpoint's temporary folder.
    struct ShardDelivery {
        var files: [String: CheckpointFile] = [:]
        var written: [String: FileDigests] = [:]
        var prepared: URL?
    }

    /// Whether some rank of this job writes files of its own into checkpoints (the same on
    /// every rank).
    var writesShardFiles: Bool { parts.sharding.shardName != nil || optimizerStateShard != nil }

    /// Under ZeRO stage 3, this rank's rows of the weights and the gathering of the rest.
    var shardedParameters: ShardedParameterResidency? { (parts.sync as? ReduceScatterGradientSync)?.residency }

    /// This rank's own files, streamed from where their values lie: the first data
    /// replica's shard of the model, optimizer and best weights (`model.<shard>.safetensors`,
    /// …), and under ZeRO its optimizer rows (`optimizer.zero-<data rank>.<shard>.safetensors`).
    func ownShardFiles() throws -> [String: SafeTensorsFile] {
        var files: [String: SafeTensorsFile] = [:]
        // Under ZeRO stage 3 a shard's weights are its data ranks' rows (below).
        if let shard = parts.sharding.shardName, parts.dataRank == 0, shardedParameters == nil {
            let store = parameters
            files["model.\(shard).safetensors"] = try ShardedState.file(layout: store.stateLayout, placements: shardPlacements) { emit in
                try store.withParameters { try emit(UnsafeBufferPointer($0)) }
                try store.withBuffers { try emit(UnsafeBufferPointer($0)) }
            }
            if optimizerStateShard == nil {
                files["optimizer.\(shard).safetensors"] = try optimizerFile(slots: store.slots.map { ($0, $0.range, $0.shape) },
                                                                             placements: shardPlacements)
            }
            if let best = progress.bestWeights {
                files["best_model.\(shard).safetensors"] = try ShardedState.file(layout: store.stateLayout, values: best,
                                                                                 placements: shardPlacements)
            }
        }
        if let zero = optimizerStateShard {
            let rows = zip(parameters.slots, zero.store.slots).filter { $0.1.count > 0 }
            let placements = Dictionary(uniqueKeysWithValues: rows.map { slot, part in
                (slot.name, Self.narrowed(placement(of: slot.name, localShape: slot.shape), to: zero.placement(of: slot)))
            })
            let part = "zero-\(parts.dataRank).\(parts.sharding.shardName ?? "whole")"
            files["optimizer.\(part).safetensors"] = try optimizerFile(slots: rows.map { ($0.0, $0.1.range, $0.1.shape) },
                                                                       placements: placements)
            if shardedParameters != nil {
                files["model.\(part).safetensors"] = try modelRowsFile(zero, rows: rows, placements: placements)
                if let best = progress.bestWeights {
                    files["best_model.\(part).safetensors"] = try modelRowsFile(zero, rows: rows, placements: placements, copy: best)
                }
            }
        }
        return files
    }

    /// Under ZeRO stage 3: this rank's rows of every weight (each placed in the global
    /// tensor), and on data rank 0 the buffers, whole; from the live store, or from `copy`
    /// (rows then buffers, as `captureBestWeights` keeps them).
    private func modelRowsFile(_ zero: OptimizerStateShard, rows: [(ParameterSlot, ParameterSlot)],
                               placements: [String: ShardPlacement], copy: [Float]? = nil) throws -> SafeTensorsFile {
        let store = parameters
        let buffers = parts.dataRank == 0 ? store.bufferSlots : []
        var layout = rows.map { ($0.0.name, $0.1.shape) }
        var placed = placements
        for slot in buffers {
            layout.append((slot.name, slot.shape))
            placed[slot.name] = .whole(slot.shape)
        }
        var runs: [Range<Int>] = []
        for (slot, _) in rows { zero.forEachOwnedRun(of: slot) { runs.append($0) } }
        return try ShardedState.file(layout: layout, placements: placed) { emit in
            if let copy {
                return try copy.withUnsafeBufferPointer { kept in
                    for (_, part) in rows { try emit(UnsafeBufferPointer(rebasing: kept[part.range])) }
                    if !buffers.isEmpty { try emit(UnsafeBufferPointer(rebasing: kept[zero.store.count...])) }
                }
            }
            try store.withParameters { values in
                for run in runs { try emit(UnsafeBufferPointer(rebasing: values[run])) }
            }
            for slot in buffers { try store.withBuffer(slot) { try emit(UnsafeBufferPointer($0)) } }
        }
    }

    /// The optimizer's buffers as `<buffer>/<parameter>` tensors: for each slot, the values
    /// `range` of every buffer, of shape `shape`, placed by the slot's name.
    private func optimizerFile(slots: [(slot: ParameterSlot, range: Range<Int>, shape: [Int])],
                               placements: [String: ShardPlacement]) throws -> SafeTensorsFile {
        let state = optimizerState, keys = state.keys.sorted()
        let layout = keys.flatMap { key in slots.map { ("\(key)/\($0.slot.name)", $0.shape) } }
        var placed: [String: ShardPlacement] = [:]
        for key in keys { for entry in slots { placed["\(key)/\(entry.slot.name)"] = placements[entry.slot.name] } }
        return try ShardedState.file(layout: layout, placements: placed) { emit in
            for key in keys {
                try state[key]!.withUnsafeBufferPointer { buffer in
                    for entry in slots { try emit(UnsafeBufferPointer(rebasing: buffer[entry.range])) }
                }
            }
        }
    }

    /// `rows` (a slice of a local tensor) within the global tensor the local one is `placed` in.
    static func narrowed(_ placed: ShardPlacement, to rows: ShardPlacement) -> ShardPlacement {
        guard let axis = rows.axis else { return placed }
        return .slice(of: placed.globalShape, axis: axis, start: (placed.axis == axis ? placed.start : 0) + rows.start, length: rows.length)
    }

    /// Puts every rank's `own` files where rank 0 commits the checkpoint: each rank streams
    /// its files into the checkpoint's temporary folder when every rank sees that folder (a
    /// file system all ranks share); otherwise they travel to rank 0 as bytes. Collective
    /// when the job writes shard files.
    func deliverShardFiles(_ own: [String: SafeTensorsFile], name: String) throws -> ShardDelivery {
        guard writesShardFiles, let world = parts.world, world.size > 1 else { return ShardDelivery(files: own.mapValues(CheckpointFile.tensors)) }
        guard let prepared = try sharedTemporaryFolder(name: name) else {
            let sent = try gatherFromEveryRank(try own.mapValues { try $0.encoded() })
            return ShardDelivery(files: (sent ?? [:]).mapValues(CheckpointFile.bytes))
        }
        var report: [String: Data] = [:]
        var failure: (any Error)?
        do {
            for (file, contents) in own.sorted(by: { $0.key < $1.key }) {
                report[file] = try JSONEncoder().encode(try Checkpoint.writeSynced(.tensors(contents), to: prepared.appendingPathComponent(file)))
            }
        } catch {
            failure = error
            report = [Self.failureKey: Data("\(error)".utf8)]
        }
        let reports = try gatherFromEveryRank(report)
        if let failure { throw failure }
        guard let reports else { return ShardDelivery() }
        if let reason = reports[Self.failureKey] {
            try? FileManager.default.removeItem(at: prepared)
            throw Checkpoint.LoadError(description: "checkpoint \(name): a rank could not write its files: \(String(decoding: reason, as: UTF8.self))")
        }
        let written = try reports.mapValues { try JSONDecoder().decode(FileDigests.self, from: $0) }
        return ShardDelivery(written: written, prepared: prepared)
    }

    private static let failureKey = "!failure"

    /// The checkpoint's temporary folder, made by rank 0, when every rank sees it there;
    /// nil (and the folder gone) otherwise. Collective.
    func sharedTemporaryFolder(name: String) throws -> URL? {
        try sharedItem(at: { rankZero in rankZero ? self.checkpointFolder : self.sharedCheckpointFolder },
                       named: { Checkpoint.temporaryFolder(name: name, in: $0, writer: Int($1)) }) { folder in
            try? FileManager.default.removeItem(at: folder)
            try FileWriter.createDirectory(folder)
        }
    }

    /// A file or folder that rank 0 makes (`make`) at `named(base, writer)` — `base` from
    /// `at(true)` on rank 0, `at(false)` on the others, `writer` rank 0's process id — when
    /// every rank sees it (a file system they share); nil, and the item removed, otherwise.
    /// Collective.
    func sharedItem(at base: (_ rankZero: Bool) -> URL?, named: (URL, Int64) -> URL,
                    make: (URL) throws -> Void) throws -> URL? {
        guard let world = parts.world else { return nil }
        var announced: [Int64] = [0, 0]
        if rank == 0, let folder = base(true) {
            let writer = Int64(ProcessInfo.processInfo.processIdentifier)
            try make(named(folder, writer))
            announced = [1, writer]
        }
        announced = try world.broadcast(announced, root: 0)
        let item = announced[0] == 1 ? base(rank == 0).map { named($0, announced[1]) } : nil
        let seen = item.map { FileManager.default.fileExists(atPath: $0.path) } ?? false
        let everywhere = try world.allreduce([Int32(seen ? 1 : 0)], operation: .min)[0] == 1
        if !everywhere, rank == 0, let item { try? FileManager.default.removeItem(at: item) }
        return everywhere ? item : nil
    }

    /// Every rank's `files` on rank 0 (nil on the other ranks). Collective.
    func gatherFromEveryRank(_ files: [String: Data]) throws -> [String: Data]? {
        guard let world = parts.world, world.size > 1 else { return files }
        guard rank == 0 else {
            try FileTransfer.send(files, to: 0, over: world)
            return nil
        }
        var gathered = files
        for source in 1..<world.size { gathered.merge(try FileTransfer.receive(from: source, over: world)) { $1 } }
        return gathered
    }
}
