import FlockParallel
import FlockTensor
import Foundation

/// The final `model.safetensors` of a sharded run, written by the shards themselves: rank
/// 0 lays out the whole model's file (header, then room for every tensor), each shard
/// owner writes its tensors' bytes at their offsets, and rank 0 renames the file into
/// place once all have, so no rank holds the whole model.
extension Trainer {
    /// Writes the whole model's file at `url` (rank 0's path; the other ranks name the same
    /// file through `sharedURL`). Collective. Where the ranks do not share the folder, the
    /// shards travel to rank 0, which writes the file.
    public func writeWholeModel(to url: URL?, sharedURL: URL?) throws {
        guard parts.sharding.shardName != nil || shardedParameters != nil, let world = parts.world, world.size > 1 else {
            if rank == 0, let url { try SafeTensors.write(.model(parameters), to: url) }
            return
        }
        let layout = model.parameters.stateLayout
        let file = SafeTensorsFile(layout: layout) { _ in }
        let header = try file.header()
        let name = (url ?? sharedURL)?.lastPathComponent ?? "model.safetensors"
        let shared = try sharedItem(at: { rankZero in (rankZero ? url : sharedURL)?.deletingLastPathComponent() },
                                    named: { Self.temporaryModelURL($0, name: name, writer: $1) }) { temporary in
            let output = try SyncedFileOutput(path: temporary.path)
            try output.append(header)
            try output.extend(to: header.count + 4 * file.valueCount)
            _ = try output.finish()
        }
        guard let temporary = shared else {
            if let whole = try wholeModelState(), rank == 0, let url { try SafeTensors.write(.values(whole, layout: layout), to: url) }
            return
        }
        var failure: (any Error)?
        do { try writeOwnTensors(into: temporary, dataStart: header.count, layout: layout) } catch { failure = error }
        let everyone = try world.allreduce([Int32(failure == nil ? 1 : 0)], operation: .min)[0] == 1
        if let failure { throw failure }
        guard everyone else {
            if rank == 0 { try? FileManager.default.removeItem(at: temporary) }
            throw RunDirectoryError(path: url?.path ?? temporary.path, reason: "a rank could not write its part of the model")
        }
        if rank == 0, let url, Foundation.rename(temporary.path, url.path) != 0 {
            throw RunDirectoryError(path: url.path, reason: "rename failed: \(String(cString: strerror(errno)))")
        }
    }

    static func temporaryModelURL(_ folder: URL, name: String, writer: Int64) -> URL {
        folder.appendingPathComponent(".\(name).tmp-\(writer)")
    }

    /// This rank's tensors (if it is its shard's first data replica), each run of values at
    /// its byte offset in the whole model's file; a tensor every slice holds whole is
    /// written by the first tensor slice alone.
    private func writeOwnTensors(into url: URL, dataStart: Int, layout: [(name: String, shape: [Int])]) throws {
        var offsets: [String: Int] = [:], next = 0
        for (name, shape) in layout {
            offsets[name] = next
            next += shape.reduce(1, *)
        }
        if shardedParameters != nil, let zero = optimizerStateShard {
            return try writeOwnRows(zero, into: url, dataStart: dataStart, offsets: offsets)
        }
        guard parts.dataRank == 0 else { return }
        let firstSlice = (parts.layout?.coordinates.tensor ?? 0) == 0
        let output = try SyncedFileOutput(path: url.path, truncating: false)
        // Little-endian F32, as the format requires and as this machine stores them.
        func write(_ name: String, _ shape: [Int], _ values: UnsafeMutableBufferPointer<Float>) throws {
            let placement = placement(of: name, localShape: shape)
            guard !placement.isWhole || firstSlice, let start = offsets[name] else { return }
            try placement.forEachRun { globalStart, localStart, count in
                let run = UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: values[localStart..<(localStart + count)]))
                try output.write(run, at: dataStart + 4 * (start + globalStart))
            }
        }
        for slot in parameters.slots { try parameters.withParameter(slot) { try write(slot.name, slot.shape, $0) } }
        for slot in parameters.bufferSlots { try parameters.withBuffer(slot) { try write(slot.name, slot.shape, $0) } }
        _ = try output.finish()
    }

    /// Under ZeRO stage 3: this rank's rows of every weight at their offsets (a whole
    /// parameter's rows are one run of its row-major values; a tensor-parallel slice's, one
    /// per index of the axes before the split), and on data rank 0 the buffers. A tensor
    /// every slice holds whole is written by the first slice's ranks.
    private func writeOwnRows(_ zero: OptimizerStateShard, into url: URL, dataStart: Int, offsets: [String: Int]) throws {
        let firstSlice = (parts.layout?.coordinates.tensor ?? 0) == 0
        var runs: [(file: Int, values: Range<Int>)] = []
        for slot in parameters.slots {
            let placed = placement(of: slot.name, localShape: slot.shape)
            guard let start = offsets[slot.name], !placed.isWhole || firstSlice else { continue }
            slot.forEachHeldGlobalRun(heldUnder: zero, placed: placed) { run, global in
                runs.append((dataStart + 4 * (start + global), run))
            }
        }
        let output = try SyncedFileOutput(path: url.path, truncating: false)
        try parameters.withParameters { values in
            for run in runs { try output.write(UnsafeRawBufferPointer(UnsafeMutableBufferPointer(rebasing: values[run.values])), at: run.file) }
        }
        if parts.dataRank == 0 && firstSlice {
            for slot in parameters.bufferSlots {
                guard let start = offsets[slot.name] else { continue }
                try parameters.withBuffer(slot) { try output.write(UnsafeRawBufferPointer($0), at: dataStart + 4 * start) }
            }
        }
        _ = try output.finish()
    }
}
