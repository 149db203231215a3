import FlockComm
import FlockNN
import FlockTensor

/// ZeRO stage 1 (Rajbhandari et al., 2020) over a data group: each data rank keeps the
/// optimizer's state for, and updates, only its rows of every parameter; the updated rows
/// are then all-gathered so every replica holds the whole (local) model again.
///
/// Parameters are split one by one along their first axis, as FSDP2 shards them (or, for
/// a tensor-parallel slice, along the axis it is already split on), the first
/// `rows % ranks` ranks holding one row more; a parameter of rank 0 (a scalar) stays
/// whole on data rank 0. Each rank's rows live in a compact store of their own, which
/// the optimizer steps exactly as it would step those elements of the whole store: the
/// weights after every step are bit for bit those of plain data parallelism, while the
/// optimizer's state takes 1/N of the memory.
public final class OptimizerStateShard {
    public let group: any Communicator
    /// This rank's rows of every parameter, named as in the whole store.
    public let store: ParameterStore
    let parameters: ParameterStore
    /// Per rank, per slot of `parameters`: the rows that rank holds (local to the slot).
    let owned: [[ShardPlacement]]

    /// `axis(of:)` names the axis a parameter is split on (nil: the first).
    public init(parameters: ParameterStore, group: any Communicator, axis: (ParameterSlot) -> Int? = { _ in nil }) {
        self.group = group
        self.parameters = parameters
        owned = (0..<group.size).map { rank in
            parameters.slots.map { Self.rows(of: $0, rank: rank, ranks: group.size, axis: axis($0) ?? 0) }
        }
        store = ParameterStore()
        for (slot, placement) in zip(parameters.slots, owned[group.rank]) {
            store.register(name: slot.name, shape: placement.localShape, isDecayed: slot.isDecayed)
        }
        store.compact()
    }

    /// The rows of `slot` that `rank` of `ranks` holds.
    static func rows(of slot: ParameterSlot, rank: Int, ranks: Int, axis: Int) -> ShardPlacement {
        guard !slot.shape.isEmpty else {
            return rank == 0 ? .whole(slot.shape) : .slice(of: [1], axis: 0, start: 0, length: 0)
        }
        let split = UnevenSplit(count: slot.shape[axis], parts: ranks)
        return .slice(of: slot.shape, axis: axis, start: split.start(of: rank), length: split.length(of: rank))
    }

    /// This rank's rows of `slot` within the slot's (local) tensor.
    public func placement(of slot: ParameterSlot) -> ShardPlacement { owned[group.rank][slot.index] }

    /// One update: this rank's rows of the parameters and their (averaged) gradients go
    /// into the compact store, `optimizer` steps them with `spans` carried over, the new
    /// rows go back, every gradient in `spans` is cleared, and the ranks all-gather the
    /// rows. Collective over the group.
    public func step(_ optimizer: inout any Optimizer, spans: [UpdateSpan]) throws {
        var compactSpans: [UpdateSpan] = []
        forEachOwnedRun { full, compact in
            copy(from: parameters, full, to: store, compact)
            for span in spans {
                let overlap = span.range.clamped(to: full)
                guard !overlap.isEmpty else { continue }
                let start = compact.lowerBound + overlap.lowerBound - full.lowerBound
                compactSpans.append(UpdateSpan(range: start..<(start + overlap.count), learningRate: span.learningRate))
            }
        }
        optimizer.step(store, spans: compactSpans)
        forEachOwnedRun { full, compact in
            store.withParameters { source in
                parameters.withParameters { target in
                    _ = UnsafeMutableBufferPointer(rebasing: target[full]).update(fromContentsOf: UnsafeMutableBufferPointer(rebasing: source[compact]))
                }
            }
        }
        parameters.withGradients { gradients in
            for span in spans { UnsafeMutableBufferPointer(rebasing: gradients[span.range]).update(repeating: 0) }
        }
        try allgatherRows()
    }

    /// Copies rows `full` of `source`'s parameters and gradients into `compact` of `target`'s.
    private func copy(from source: ParameterStore, _ full: Range<Int>, to target: ParameterStore, _ compact: Range<Int>) {
        source.withParameters { from in
            target.withParameters { _ = UnsafeMutableBufferPointer(rebasing: $0[compact]).update(fromContentsOf: UnsafeMutableBufferPointer(rebasing: from[full])) }
        }
        source.withGradients { from in
            target.withGradients { _ = UnsafeMutableBufferPointer(rebasing: $0[compact]).update(fromContentsOf: UnsafeMutableBufferPointer(rebasing: from[full])) }
        }
    }

    /// This rank's rows of `values`, a buffer of one value per element of the whole store.
    public func rows(of values: [Float]) -> [Float] {
        var compact = [Float](repeating: 0, count: store.count)
        forEachOwnedRun { full, part in
            for (target, source) in zip(part, full) { compact[target] = values[source] }
        }
        return compact
    }

    /// Calls `body` with each contiguous run of `rank`'s rows (this rank's by default) of
    /// the slots `slots`: its range in the whole store's flat buffer and in the rank's
    /// compact store, counted from the first of `slots`.
    func forEachOwnedRun(rank: Int? = nil, slots: Range<Int>? = nil, _ body: (_ full: Range<Int>, _ compact: Range<Int>) -> Void) {
        var compactOffset = 0
        for slot in parameters.slots[slots ?? parameters.slots.indices] {
            let placement = owned[rank ?? group.rank][slot.index]
            placement.forEachRun { slotStart, localStart, count in
                let full = (slot.offset + slotStart)..<(slot.offset + slotStart + count)
                body(full, (compactOffset + localStart)..<(compactOffset + localStart + count))
            }
            compactOffset += placement.localShape.reduce(1, *)
        }
    }

    /// Values the all-gather moves at a time (whole parameters, at least one), so its
    /// receive buffer stays small: 16 MB, or one parameter when that is larger.
    public var gatherChunkElements = 1 << 22

    /// Every rank's rows into every rank's whole store: an all-gather (varying counts) of
    /// the compact stores' values, a run of slots at a time, each rank's runs then put in place.
    private func allgatherRows() throws {
        var first = 0
        while first < parameters.slots.count {
            var end = first + 1, elements = parameters.slots[first].count
            while end < parameters.slots.count && elements + parameters.slots[end].count <= gatherChunkElements {
                elements += parameters.slots[end].count
                end += 1
            }
            try allgatherRows(ofSlots: first..<end)
            first = end
        }
    }

    private func allgatherRows(ofSlots slots: Range<Int>) throws {
        let counts = (0..<group.size).map { rank in owned[rank][slots].reduce(0) { $0 + $1.localShape.reduce(1, *) } }
        let mine = store.slots[slots].first.map { $0.offset..<($0.offset + counts[group.rank]) } ?? 0..<0
        var gathered = [Float](repeating: 0, count: counts.reduce(0, +))
        try store.withParameters { values in
            try gathered.withUnsafeMutableBufferPointer {
                try group.allgather(UnsafeBufferPointer(rebasing: values[mine]), into: $0, counts: counts)
            }
        }
        var rankOffset = 0
        parameters.withParameters { target in
            for rank in 0..<group.size {
                forEachOwnedRun(rank: rank, slots: slots) { full, compact in
                    for (t, s) in zip(full, compact) { target[t] = gathered[rankOffset + s] }
                }
                rankOffset += counts[rank]
            }
        }
    }
}
