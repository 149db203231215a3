import FlockComm
import FlockNN
import FlockTensor

/// ZeRO stage 3's parameters: each data rank keeps the values of only its rows of every
/// parameter (those whose optimizer state and gradients it keeps), in the whole store's
/// flat buffer at their places; the other rows live in pages given back to the kernel.
/// A layer's rows are all-gathered just before it runs and given back just after (see
/// ``ParameterResidency``), so between uses a rank holds 1/N of the values plus the layer
/// it is running.
///
/// The next layer's gather is prefetched (FSDP's forward and backward prefetch): after a
/// layer's rows are gathered, the gather of the layer that followed it last time starts
/// beside the layer's compute, into a buffer of its own, and the next `gather` finds it
/// done. The guess is keyed by the last two layers gathered: each layer is gathered on the
/// way forward and again on the way back, with a different successor each time. Every rank of the group gathers the same layers in the same order, so every rank
/// predicts alike and starts the same collectives; a wrong guess costs one gather, waited
/// for and dropped. Nothing prefetched outlives a step's gradients (`dropPrefetch`): the
/// update changes the rows it read.
///
/// A layer whose parameters are split on their first axis is gathered in place: each
/// rank's rows go straight from its store into the others' (`MPI_IN_PLACE`), with no
/// packing, no buffer and no copy back. A prefetch goes in place too when its layer is
/// not the one being run (whose rows it would overwrite and whose release would give back
/// pages it writes); otherwise into a buffer of its own, as a layer split on another
/// axis always is. A dropped prefetch made in place gives its rows back.
public final class ShardedParameterResidency: ParameterResidency {
    let rows: OptimizerStateShard
    let memory: ReleasableMemory
    /// The first failure of a gather (they run where nothing throws), thrown by `rethrow`.
    private var failure: (any Error)?
    /// Whether the next layer's rows are gathered ahead.
    public var prefetches = true
    /// The layer (its slots) gathered after each pair of layers, last time; the last two
    /// gathered.
    private var successor: [LayerPair: Range<Int>] = [:]
    private var recent = LayerPair(earlier: nil, later: nil)
    private var prefetched: RowsGather?
    /// The layers gathered and not yet given back (one, as units run one at a time).
    private var resident: [Range<Int>] = []
    /// Gathers found prefetched, and prefetches dropped unused (for tests and logs).
    public private(set) var prefetchHits = 0, prefetchMisses = 0

    init(rows: OptimizerStateShard, memory: ReleasableMemory) {
        self.rows = rows
        self.memory = memory
    }

    public func gather(_ slots: [ParameterSlot]) {
        guard failure == nil, let first = slots.map(\.index).min(), let last = slots.map(\.index).max() else { return }
        let layer = first..<(last + 1)
        do {
            if recent.later != nil { successor[recent] = layer }
            recent = LayerPair(earlier: recent.later, later: layer)
            if let ahead = prefetched, ahead.slots == layer {
                prefetched = nil
                if !ahead.isInPlace { prepareOthersRows(of: layer) }
                try rows.finish(ahead)
                prefetchHits += 1
            } else {
                try dropPrefetch()
                prepareOthersRows(of: layer)
                try rows.allgatherRows(ofSlots: layer)
            }
            resident.append(layer)
            if prefetches, let next = successor[recent] {
                let inPlace = rows.gathersInPlace(next) && !resident.contains { $0.overlaps(next) }
                // A packed prefetch gets its pages when it is put in place, as its layer
                // may still be running now.
                if inPlace { prepareOthersRows(of: next) }
                prefetched = try rows.startGatheringRows(ofSlots: next, inPlace: inPlace)
            }
        } catch { failure = error }
    }

    /// Waits for a prefetched gather and drops it (before the update changes the rows it
    /// read, or when a gather other than the predicted one comes). Collective only in that
    /// every rank has the same one in flight.
    public func dropPrefetch() throws {
        guard let ahead = prefetched else { return }
        prefetched = nil
        prefetchMisses += 1
        // Gathered in place, its rows are in the store: they go back as a layer's do.
        defer { if ahead.isInPlace { for index in ahead.slots { releaseOthersRows(of: rows.parameters.slots[index]) } } }
        try ahead.wait()
    }

    public func release(_ slots: [ParameterSlot]) {
        if let first = slots.map(\.index).min(), let last = slots.map(\.index).max() {
            resident.removeAll { $0.overlaps(first..<(last + 1)) }
        }
        for slot in slots { releaseOthersRows(of: slot) }
    }

    /// Every parameter's rows, all at once (the whole model's file, written without a
    /// shared folder); not a layer, so nothing is prefetched after it. Collective.
    public func gatherAll() {
        guard failure == nil else { return }
        do {
            try dropPrefetch()
            recent = LayerPair(earlier: nil, later: nil)
            try rows.allgatherRows(ofSlots: rows.parameters.slots.indices)
        } catch { failure = error }
    }

    /// Gives back every parameter's other rows (after loading a whole model's values).
    public func releaseAll() {
        do { try dropPrefetch() } catch { failure = failure ?? error }
        resident = []
        for slot in rows.parameters.slots { releaseOthersRows(of: slot) }
    }

    /// The ranges of `slot` outside this rank's rows, released; its own rows stay.
    private func releaseOthersRows(of slot: ParameterSlot) {
        forEachOthersRange(of: slot) { memory.release($0) }
    }

    /// Recycled pages under the other ranks' rows of `slots`, which a gather is about to
    /// write whole (so OpenMPI's copy faults nothing in).
    private func prepareOthersRows(of slots: Range<Int>) {
        for index in slots { forEachOthersRange(of: rows.parameters.slots[index]) { memory.prepareToOverwrite($0) } }
    }

    /// Calls `body` with each range of `slot` (in the store's flat buffer) holding other ranks' rows.
    private func forEachOthersRange(of slot: ParameterSlot, _ body: (Range<Int>) -> Void) {
        var owned: [Range<Int>] = []
        rows.forEachOwnedRun(of: slot) { owned.append($0) }
        slot.range.forEachGap(around: owned, body)
    }

    /// Sets this rank's rows to their initial values, each from its parameter's own
    /// counter-based stream at the rows' places in the whole tensor (`placement`: where a
    /// tensor-parallel slice lies; nil for a whole one): the values every layout and rank
    /// count starts from.
    func initializeOwnRows(_ initializations: [String: ParameterInitialization],
                           placement: (ParameterSlot) -> ShardPlacement?) {
        for slot in rows.parameters.slots {
            guard let initialization = initializations[slot.name] else { continue }
            slot.forEachHeldGlobalRun(heldUnder: rows, placed: placement(slot) ?? .whole(slot.shape)) { run, global in
                initialization.fill(UnsafeMutableBufferPointer(rebasing: memory.buffer[run]), from: global)
            }
        }
    }

    /// Drops any prefetched gather and throws the first failure of a gather since the last
    /// call. Called as a step's gradients are finished.
    public func rethrow() throws {
        defer { failure = nil }
        if failure == nil {
            do { try dropPrefetch() } catch { failure = error }
        }
        if let failure { throw failure }
    }
}

/// Two layers gathered one after the other (their slots), the key of a prefetch guess.
struct LayerPair: Hashable {
    let earlier: Range<Int>?
    let later: Range<Int>?
}
