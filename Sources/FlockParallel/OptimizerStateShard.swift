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
/// whole on data rank 0. The optimizer updates this rank's rows in place in the whole
/// store, its state laid out as `store` describes (this rank's rows of each parameter,
/// back to back): the weights after every step are bit for bit those of plain data
/// parallelism, while the optimizer's state takes 1/N of the memory.
public final class OptimizerStateShard {
    public let group: any Communicator
    /// This rank's rows of every parameter, named as in the whole store: a description
    /// (no values) of the optimizer state's layout.
    public let store: ParameterStore
    let parameters: ParameterStore
    /// Per rank, per slot of `parameters`: the rows that rank holds (local to the slot).
    let owned: [[ShardPlacement]]

    /// Under ZeRO stage 2 this rank holds only its rows' gradients, and the update clears
    /// only those (the others were given back by the reduce-scatter and read zero).
    public let gradientsAreSharded: Bool
    /// Whether every rank holds the whole model after an update (stages 1 and 2: the rows
    /// are all-gathered); under stage 3 each layer's rows are gathered when it runs.
    public var gathersAfterUpdate = true

    /// `axis(of:)` names the axis a parameter is split on (nil: the first).
    public init(parameters: ParameterStore, group: any Communicator, gradientsAreSharded: Bool = false,
                axis: (ParameterSlot) -> Int? = { _ in nil }) {
        self.group = group
        self.gradientsAreSharded = gradientsAreSharded
        self.parameters = parameters
        owned = (0..<group.size).map { rank in
            parameters.slots.map { Self.rows(of: $0, rank: rank, ranks: group.size, axis: axis($0) ?? 0) }
        }
        store = ParameterStore(holdsValues: false)
        for (slot, placement) in zip(parameters.slots, owned[group.rank]) {
            store.register(name: slot.name, shape: placement.localShape, isDecayed: slot.isDecayed)
        }
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

    /// One update: `optimizer` steps this rank's rows of `spans` in the whole store, its
    /// state at their places in the shard's layout; every gradient in `spans` is cleared,
    /// and the ranks all-gather the rows. Collective over the group.
    public func step(_ optimizer: inout any Optimizer, spans: [UpdateSpan]) throws {
        var ownedSpans: [UpdateSpan] = []
        forEachOwnedRun { full, compact in
            for span in spans {
                let overlap = span.range.clamped(to: full)
                guard !overlap.isEmpty else { continue }
                ownedSpans.append(UpdateSpan(range: overlap, learningRate: span.learningRate,
                                             stateStart: compact.lowerBound + overlap.lowerBound - full.lowerBound))
            }
        }
        optimizer.step(parameters, spans: ownedSpans, stateCount: store.count)
        parameters.withGradients { gradients in
            for span in gradientsAreSharded ? ownedSpans : spans {
                UnsafeMutableBufferPointer(rebasing: gradients[span.range]).update(repeating: 0)
            }
        }
        if gathersAfterUpdate { try allgatherRows() }
    }

    /// This rank's rows of `values`, a buffer of one value per element of the whole store.
    public func rows(of values: [Float]) -> [Float] {
        values.withUnsafeBufferPointer { rows(of: $0) }
    }

    /// This rank's rows of `values` (one value per element of the whole store).
    func rows(of values: UnsafeBufferPointer<Float>) -> [Float] {
        var compact = [Float](repeating: 0, count: store.count)
        compact.withUnsafeMutableBufferPointer { target in
            forEachOwnedRun { full, part in Self.copy(values[full], into: target[part]) }
        }
        return compact
    }

    /// Calls `body` with each contiguous run of `rank`'s rows (this rank's by default) of
    /// the slots `slots`: its range in the whole store's flat buffer and in the rank's
    /// compact store, counted from the first of `slots`.
    public func forEachOwnedRun(rank: Int? = nil, slots: Range<Int>? = nil, _ body: (_ full: Range<Int>, _ compact: Range<Int>) -> Void) {
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

    /// Calls `body` with each run of the whole store's flat buffer holding this rank's rows
    /// of `slot`.
    public func forEachOwnedRun(of slot: ParameterSlot, _ body: (Range<Int>) -> Void) {
        forEachOwnedRun(slots: slot.index..<(slot.index + 1)) { full, _ in body(full) }
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

    /// Every rank's rows of `slots` (consecutive) into every rank's whole store. Collective.
    func allgatherRows(ofSlots slots: Range<Int>) throws {
        let gather = RowsGather(slots: slots, counts: counts(ofSlots: slots), rank: group.rank)
        packOwnRows(into: gather)
        try group.allgather(UnsafeBufferPointer(gather.send), into: gather.received, counts: gather.counts)
        unpack(gather)
    }

    /// Starts gathering every rank's rows of `slots` into a buffer of their own, beside
    /// whatever runs next (ZeRO stage 3's prefetch of the next layer); `finish` puts them
    /// in place. This rank's rows are read now. Collective.
    func startGatheringRows(ofSlots slots: Range<Int>) throws -> RowsGather {
        let gather = RowsGather(slots: slots, counts: counts(ofSlots: slots), rank: group.rank)
        packOwnRows(into: gather)
        gather.pending = try group.startAllgather(UnsafeBufferPointer(gather.send), into: gather.received, counts: gather.counts)
        return gather
    }

    /// Waits for a started gather and puts every rank's rows in place.
    func finish(_ gather: RowsGather) throws {
        try gather.pending?.wait()
        gather.pending = nil
        unpack(gather)
    }

    /// Values of each rank's rows of `slots`.
    private func counts(ofSlots slots: Range<Int>) -> [Int] {
        (0..<group.size).map { rank in owned[rank][slots].reduce(0) { $0 + $1.localShape.reduce(1, *) } }
    }

    private func packOwnRows(into gather: RowsGather) {
        parameters.withParameters { values in
            forEachOwnedRun(slots: gather.slots) { full, compact in Self.copy(values[full], into: gather.send[compact]) }
        }
    }

    /// The other ranks' rows into place; this rank's are there already (they were packed
    /// from the store, and nothing changes or gives them back while a gather runs).
    private func unpack(_ gather: RowsGather) {
        var rankOffset = 0
        parameters.withParameters { target in
            for rank in 0..<group.size {
                defer { rankOffset += gather.counts[rank] }
                guard rank != group.rank else { continue }
                forEachOwnedRun(rank: rank, slots: gather.slots) { full, compact in
                    let start = rankOffset + compact.lowerBound
                    Self.copy(gather.received[start..<(start + compact.count)], into: target[full])
                }
            }
        }
    }

    /// Copies one run of values (both slices hold the same count).
    private static func copy<Source: Collection<Float>>(_ source: Source, into target: Slice<UnsafeMutableBufferPointer<Float>>) {
        _ = UnsafeMutableBufferPointer(rebasing: target).update(fromContentsOf: source)
    }
}

extension ParameterSlot {
    /// Calls `body` with each run of the flat buffer of this slot a rank holds: the whole
    /// slot, or under ZeRO its `rows`.
    public func forEachRun(heldUnder rows: OptimizerStateShard?, _ body: (Range<Int>) -> Void) {
        guard let rows else { return body(range) }
        rows.forEachOwnedRun(of: self, body)
    }

    /// Calls `body` with each run of the flat buffer of this slot a rank holds (see
    /// `forEachRun(heldUnder:)`) that lies contiguously in the whole tensor, with the
    /// whole tensor's flat index of its first element; `placed` says where the slot's
    /// (local) tensor lies in the whole one. What makes values keyed by (path, element)
    /// — initial values, weight noise — the same for every layout.
    public func forEachHeldGlobalRun(heldUnder rows: OptimizerStateShard?, placed: ShardPlacement,
                                     _ body: (_ run: Range<Int>, _ globalStart: Int) -> Void) {
        forEachRun(heldUnder: rows) { full in
            placed.forEachGlobalRun(within: (full.lowerBound - offset)..<(full.upperBound - offset)) { local, global in
                body((offset + local.lowerBound)..<(offset + local.upperBound), global)
            }
        }
    }
}

/// One all-gather of every rank's rows of some slots: this rank's packed values and the
/// buffer every rank's land in (its own memory, so a gather may run while the slots'
/// values in the store are given back or read).
final class RowsGather {
    let slots: Range<Int>
    let counts: [Int]
    let send: UnsafeMutableBufferPointer<Float>
    let received: UnsafeMutableBufferPointer<Float>
    /// The all-gather while it runs beside the caller.
    var pending: (any PendingOperation)?

    /// `counts`: each rank's values; `rank`: this one.
    init(slots: Range<Int>, counts: [Int], rank: Int) {
        self.slots = slots
        self.counts = counts
        // Floats need no initialization: every element is written before it is read.
        send = .allocate(capacity: counts[rank])
        received = .allocate(capacity: counts.reduce(0, +))
    }

    deinit {
        // A gather dropped while it runs still owns its buffers until it ends.
        try? pending?.wait()
        send.deallocate()
        received.deallocate()
    }
}
