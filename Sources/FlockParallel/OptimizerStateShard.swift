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
    /// Per slot, each rank's count of values when the ranks' rows lie one after another in
    /// rank order (a slot split on its first axis): such a slot is all-gathered in place in
    /// the store, with no packing, no buffer and no copy of this rank's own rows. Nil for a
    /// slot split on another axis (a tensor-parallel slice), which is packed.
    let inPlaceCounts: [[Int]?]

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
        let owned = (0..<group.size).map { rank in
            parameters.slots.map { Self.rows(of: $0, rank: rank, ranks: group.size, axis: axis($0) ?? 0) }
        }
        self.owned = owned
        inPlaceCounts = parameters.slots.map { slot in Self.consecutiveCounts(of: slot, placements: owned.map { $0[slot.index] }) }
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

    /// Each rank's count of `slot`'s values when the ranks' runs tile the slot in rank order;
    /// nil otherwise.
    static func consecutiveCounts(of slot: ParameterSlot, placements: [ShardPlacement]) -> [Int]? {
        var next = 0, consecutive = true
        let counts = placements.map { placement -> Int in
            var count = 0
            placement.forEachRun { slotStart, _, length in
                guard length > 0 else { return }
                if slotStart != next { consecutive = false }
                next = slotStart + length
                count += length
            }
            return count
        }
        return consecutive && next == slot.count ? counts : nil
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
        let gather = try startGatheringRows(ofSlots: slots, inPlace: gathersInPlace(slots), blocking: true)
        try finish(gather)
    }

    /// Whether every slot of `slots` is gathered in place in the store.
    func gathersInPlace(_ slots: Range<Int>) -> Bool { slots.allSatisfy { inPlaceCounts[$0] != nil } }

    /// Starts gathering every rank's rows of `slots` beside whatever runs next (ZeRO stage
    /// 3's prefetch of the next layer); `finish` puts them in place. `inPlace` (only where
    /// `gathersInPlace`): each slot is gathered straight into the store, so nothing may
    /// read the slots' other rows, give them back, or change this rank's rows until
    /// `finish`, and the store's values must stay where they are (stage 3's do); otherwise
    /// this rank's rows are packed now into a buffer of the gather's own. Collective.
    func startGatheringRows(ofSlots slots: Range<Int>, inPlace: Bool, blocking: Bool = false) throws -> RowsGather {
        let gather = RowsGather(slots: slots, packedCounts: inPlace ? nil : counts(ofSlots: slots), rank: group.rank)
        func allgather(_ send: UnsafeBufferPointer<Float>, into receive: UnsafeMutableBufferPointer<Float>, counts: [Int]) throws {
            if blocking {
                try group.allgather(send, into: receive, counts: counts)
            } else {
                gather.pending.append(try group.startAllgather(send, into: receive, counts: counts))
            }
        }
        if let packed = gather.packed {
            packOwnRows(of: slots, into: packed.send)
            try allgather(UnsafeBufferPointer(packed.send), into: packed.received, counts: packed.counts)
            return gather
        }
        guard let base = parameters.withParameters({ $0.baseAddress }) else { return gather }
        for index in slots {
            let counts = inPlaceCounts[index]!, slot = parameters.slots[index]
            let whole = UnsafeMutableBufferPointer(start: base + slot.offset, count: slot.count)
            let own = counts[..<group.rank].reduce(0, +)
            try allgather(UnsafeBufferPointer(rebasing: whole[own..<(own + counts[group.rank])]), into: whole, counts: counts)
        }
        return gather
    }

    /// Waits for a started gather and puts every rank's rows in place.
    func finish(_ gather: RowsGather) throws {
        try gather.wait()
        unpack(gather)
    }

    /// Values of each rank's rows of `slots`.
    private func counts(ofSlots slots: Range<Int>) -> [Int] {
        (0..<group.size).map { rank in owned[rank][slots].reduce(0) { $0 + $1.localShape.reduce(1, *) } }
    }

    private func packOwnRows(of slots: Range<Int>, into send: UnsafeMutableBufferPointer<Float>) {
        parameters.withParameters { values in
            forEachOwnedRun(slots: slots) { full, compact in Self.copy(values[full], into: send[compact]) }
        }
    }

    /// The other ranks' rows into place from a packed gather (one in place put them there
    /// already); this rank's are there already (they were packed from the store, and
    /// nothing changes or gives them back while a gather runs).
    private func unpack(_ gather: RowsGather) {
        guard let packed = gather.packed else { return }
        var rankOffset = 0
        parameters.withParameters { target in
            for rank in 0..<group.size {
                defer { rankOffset += packed.counts[rank] }
                guard rank != group.rank else { continue }
                forEachOwnedRun(rank: rank, slots: gather.slots) { full, compact in
                    let start = rankOffset + compact.lowerBound
                    Self.copy(packed.received[start..<(start + compact.count)], into: target[full])
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

/// One all-gather of every rank's rows of some slots, in place in the store (one
/// collective per slot) or packed: this rank's packed values and the buffer every rank's
/// land in (its own memory, so a gather may run while the slots' values in the store are
/// given back or read).
final class RowsGather {
    let slots: Range<Int>
    /// The packed form's buffers; nil for a gather in place.
    let packed: (counts: [Int], send: UnsafeMutableBufferPointer<Float>, received: UnsafeMutableBufferPointer<Float>)?
    /// The all-gathers while they run beside the caller.
    var pending: [any PendingOperation] = []

    var isInPlace: Bool { packed == nil }

    /// `packedCounts`: each rank's values, for a packed gather (nil: in place); `rank`: this one.
    init(slots: Range<Int>, packedCounts: [Int]?, rank: Int) {
        self.slots = slots
        // Floats need no initialization: every element is written before it is read.
        packed = packedCounts.map { counts in
            (counts, .allocate(capacity: counts[rank]), .allocate(capacity: counts.reduce(0, +)))
        }
    }

    /// Waits for every all-gather started (all of them, even after one fails); throws the
    /// first failure.
    func wait() throws {
        let operations = pending
        pending = []
        var failure: (any Error)?
        for operation in operations {
            do { try operation.wait() } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    deinit {
        // A gather dropped while it runs still owns its buffers until it ends.
        try? wait()
        packed?.send.deallocate()
        packed?.received.deallocate()
    }
}
