import FlockComm
import FlockNN
import FlockTensor

/// ZeRO stage 3's parameters: each data rank keeps the values of only its rows of every
/// parameter (those whose optimizer state and gradients it keeps), in the whole store's
/// flat buffer at their places; the other rows live in pages given back to the kernel.
/// A layer's rows are all-gathered just before it runs and given back just after (see
/// ``ParameterResidency``), so between uses a rank holds 1/N of the values plus the layer
/// it is running.
public final class ShardedParameterResidency: ParameterResidency {
    let rows: OptimizerStateShard
    let memory: ReleasableMemory
    /// The first failure of a gather (they run where nothing throws), thrown by `rethrow`.
    private var failure: (any Error)?

    init(rows: OptimizerStateShard, memory: ReleasableMemory) {
        self.rows = rows
        self.memory = memory
    }

    public func gather(_ slots: [ParameterSlot]) {
        guard failure == nil, let first = slots.map(\.index).min(), let last = slots.map(\.index).max() else { return }
        do { try rows.allgatherRows(ofSlots: first..<(last + 1)) } catch { failure = error }
    }

    public func release(_ slots: [ParameterSlot]) {
        for slot in slots { releaseOthersRows(of: slot) }
    }

    /// Gives back every parameter's other rows (after loading a whole model's values).
    public func releaseAll() {
        for slot in rows.parameters.slots { releaseOthersRows(of: slot) }
    }

    /// The ranges of `slot` outside this rank's rows, released; its own rows stay.
    private func releaseOthersRows(of slot: ParameterSlot) {
        var next = slot.offset
        rows.forEachOwnedRun(of: slot) { full in
            memory.release(next..<full.lowerBound)
            next = full.upperBound
        }
        memory.release(next..<slot.range.upperBound)
    }

    /// Sets this rank's rows to their initial values, each from its parameter's own
    /// counter-based stream: the values every layout and rank count starts from.
    func initializeOwnRows(_ initializations: [String: ParameterInitialization]) {
        for slot in rows.parameters.slots {
            guard let initialization = initializations[slot.name] else { continue }
            rows.forEachOwnedRun(of: slot) { full in
                initialization.fill(UnsafeMutableBufferPointer(rebasing: memory.buffer[full]), from: full.lowerBound - slot.offset)
            }
        }
    }

    /// Throws the first failure of a gather since the last call.
    public func rethrow() throws {
        defer { failure = nil }
        if let failure { throw failure }
    }
}
