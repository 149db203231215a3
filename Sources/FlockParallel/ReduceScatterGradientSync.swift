import FlockComm
import FlockNN
import FlockTensor

/// ZeRO stage 2 (Rajbhandari et al., 2020): each data rank ends a step with the averaged
/// gradients of only its rows of every parameter (the rows ``OptimizerStateShard`` gives
/// it, whose optimizer state it keeps), reduce-scattered bucket by bucket while backward
/// runs. A bucket is packed by owner as soon as its last gradient is ready (into a ring of
/// memory the communicator provides, which on one node the other ranks read in place),
/// its pages are given back at once, and at most `maxInFlightBytes` of packed buckets
/// travel at a time: a rank holds
/// the whole model's gradients only for the layers backward is still working on. The
/// other rows read zero after ``finishStep()``, so the gradient transforms work on this
/// rank's rows and reduce what is global (norms, the finite check) over the group.
public final class ReduceScatterGradientSync: GradientSync {
    public let communicator: any Communicator
    public let bucketBytes: Int
    public let overlap: Bool
    /// Bytes of packed buckets whose reduce-scatter may be in flight at once (one bucket
    /// at least); starting one more waits for the oldest, which bounds their memory.
    public var maxInFlightBytes = 16 << 20
    /// Where each parameter lies in the whole model's tensor (nil: whole): a
    /// tensor-parallel slice's rows are split on the axis the slice is, as the optimizer
    /// state's shard does, and stage 3 makes their initial values from their global places.
    let placement: (ParameterSlot) -> ShardPlacement?
    /// Set by `prepare`: whose rows are whose, and the buckets' packing.
    public private(set) var rows: OptimizerStateShard?
    private var memory: ReleasableMemory?
    private var parameters: ParameterStore?
    private var buckets: GradientBuckets?
    private var packing: [BucketPacking] = []
    private var remaining: [Int] = []
    private var inFlight: [InFlightBucket] = []
    /// Where buckets are packed, a region each, reused once its reduce-scatter is done.
    private var ring: UnsafeMutableBufferPointer<Float>?
    private var regions = BucketRing(capacity: 0)
    private var started: Set<Int> = []
    private var synchronizing = true
    private var failure: (any Error)?
    private var statistics: StatisticsSum?

    /// ZeRO stage 3: the parameters' values are sharded too (``ShardedParameterResidency``).
    public let shardsParameters: Bool
    public private(set) var residency: ShardedParameterResidency?
    /// Stage 2 from a description: the weights' memory, kept as long as the store uses it.
    private var startingValues: ReleasableMemory?

    public init(communicator: any Communicator, bucketBytes: Int = 1 << 20, overlap: Bool = true,
                shardsParameters: Bool = false, placement: @escaping (ParameterSlot) -> ShardPlacement? = { _ in nil }) {
        self.communicator = communicator
        self.shardsParameters = shardsParameters
        self.bucketBytes = bucketBytes
        self.overlap = overlap
        self.placement = placement
    }

    public var group: (any Communicator)? { communicator }

    /// Moves the gradients into releasable memory, works out each bucket's packing and
    /// broadcasts the first replica's parameters and buffers. Under stage 3, `parameters`
    /// is a description: its values go into releasable memory too, each rank making its
    /// own rows' initial values. Collective.
    public func prepare(parameters: ParameterStore, model: Model) throws {
        let rows = OptimizerStateShard(parameters: parameters, group: communicator, gradientsAreSharded: true) { [placement] in placement($0)?.axis }
        // Gradients are released and needed again every step: recycled pages keep that cheap.
        let memory = try ReleasableMemory(count: parameters.count, recyclesPages: true)
        let builtModel = parameters.holdsValues
        if builtModel {
            guard !shardsParameters else {
                throw ParallelLayout.LayoutError(description: "zero 3 starts from a model description, not a built model")
            }
            parameters.useGradientMemory(memory.buffer)
        } else {
            // A description: no page of the weights or gradients was touched yet. Stage 3
            // makes this rank's rows only, in pages released at a fine grain (holding
            // little of the weights is what it is for) and recycled between gathers;
            // stage 2 every value, alike on every rank, so nothing needs broadcasting.
            let values = try ReleasableMemory(count: parameters.count, recyclesPages: shardsParameters)
            parameters.attachStorage(values: values.buffer, gradients: memory.buffer)
            if shardsParameters {
                let residency = ShardedParameterResidency(rows: rows, memory: values)
                residency.initializeOwnRows(model.initializations, placement: placement)
                self.residency = residency
            } else {
                for slot in parameters.slots {
                    model.initializations[slot.name]?.fill(UnsafeMutableBufferPointer(rebasing: values.buffer[slot.range]))
                }
                startingValues = values
            }
        }
        let buckets = GradientBuckets(slots: parameters.slots, bucketBytes: bucketBytes)
        packing = buckets.buckets.map { BucketPacking(bucket: $0, rows: rows) }
        // Every rank computes the same plans, so asks for the same count (a collective).
        let largestSend = packing.map { $0.blockCount * communicator.size }.max() ?? 0
        let ring = try communicator.allocateBuffer(count: max(largestSend, maxInFlightBytes / MemoryLayout<Float>.stride), of: Float.self)
        (self.ring, regions) = (ring, BucketRing(capacity: ring.count))
        remaining = buckets.buckets.map(\.slots.count)
        (self.memory, self.parameters, self.rows, self.buckets) = (memory, parameters, rows, buckets)
        if builtModel { try parameters.withParameters { try communicator.broadcast($0, root: 0) } }
        try synchronizeBuffers()
        statistics = communicator.size > 1 && model.hasSynchronizedStatistics ? StatisticsSum(communicator: communicator) : nil
    }

    public func attach(to tape: Tape) {
        tape.addGradientReadyObserver { [unowned self] slot in self.gradientReady(slot) }
    }

    public func beginStep(_ step: Int) throws {
        statistics?.clear()
        try synchronizeBuffers()
    }

    public func beginMicroBatch(isLast: Bool, samples: Int) throws -> ((inout [Double]) -> Void)? {
        synchronizing = isLast
        remaining = buckets?.buckets.map(\.slots.count) ?? []
        // Backward writes the first bucket first (see `gradientReady`).
        if let first = packing.first, let memory { first.forEachOthersRange { memory.prepareToAccumulate($0) } }
        return try statistics?.forMicroBatch(samples: samples)
    }

    func gradientReady(_ slot: ParameterSlot) {
        guard let buckets else { return }
        let bucket = buckets.bucketOfSlot[slot.index]
        remaining[bucket] -= 1
        guard remaining[bucket] == 0 else { return }
        // Buckets run in backward order, so backward writes the next buckets next: their
        // other ranks' rows get zeroed pages from the pool now rather than a fault per page
        // as backward writes them. Two ahead, as a ZeRO-3 unit or a recomputed block
        // writes all its buckets before reporting them ready, in slot order. A wrong guess
        // costs only faults: pages go only where none is resident, and zeroed pages read as
        // released ones do. A bucket finished already is not given pages again (they would
        // stay until the next step).
        if let memory {
            for next in (bucket + 1)..<min(bucket + 3, packing.count) where remaining[next] > 0 {
                packing[next].forEachOthersRange { memory.prepareToAccumulate($0) }
            }
        }
        if synchronizing && overlap { start(bucket) }
    }

    /// Packs `bucket` by owner, gives the other ranks' rows back and starts its reduce-scatter;
    /// the oldest buckets in flight are finished first while the packed bytes in flight
    /// would pass `maxInFlightBytes`.
    /// Errors are kept for `finishStep` (this runs inside backward, where nothing throws).
    private func start(_ bucket: Int) {
        guard failure == nil, !started.contains(bucket), let memory, let ring else { return }
        started.insert(bucket)
        do {
            let plan = packing[bucket]
            let region = regions.place(plan.blockCount * communicator.size)
            for _ in 0..<BucketRing.oldestToFinish(before: region, inFlight: inFlight.map(\.region)) {
                try complete(inFlight.removeFirst())
            }
            while !inFlight.isEmpty && inFlightBytes + plan.packedBytes > maxInFlightBytes {
                try complete(inFlight.removeFirst())
            }
            let flight = InFlightBucket(bucket: bucket, send: UnsafeMutableBufferPointer(rebasing: ring[region]),
                                        region: region, receiveCount: plan.blockCount)
            plan.pack(memory.buffer, into: flight.send)
            plan.forEachOthersRange { memory.release($0) }
            try flight.start(on: communicator)
            inFlight.append(flight)
        } catch {
            failure = error
        }
    }

    private var inFlightBytes: Int { inFlight.reduce(0) { $0 + packing[$1.bucket].packedBytes } }

    /// Waits for `flight` and writes this rank's averaged rows into place.
    private func complete(_ flight: InFlightBucket) throws {
        try flight.operation?.wait()
        guard let memory else { return }
        packing[flight.bucket].unpackOwn(from: UnsafeBufferPointer(flight.receive), into: memory.buffer)
    }

    /// Starts the buckets backward did not (unused parameters, no overlap, a rank without
    /// samples) in bucket order and waits for every one in flight.
    public func finishStep() throws {
        defer { started = []; inFlight = [] }
        guard synchronizing, let buckets else { return }
        for bucket in buckets.buckets.indices where !started.contains(bucket) { start(bucket) }
        var firstError = failure
        for flight in inFlight {
            do { try complete(flight) } catch { firstError = firstError ?? error }
        }
        failure = nil
        if let firstError { throw firstError }
        try statistics?.rethrow()
        try residency?.rethrow()
    }

    public func synchronizeBuffers() throws {
        guard let parameters, !parameters.bufferSlots.isEmpty else { return }
        try parameters.withBuffers { try communicator.broadcast($0, root: 0) }
    }

    /// Under stage 3 each rank holds (and restored) its own rows: only the buffers travel.
    public func synchronizeModelState() throws {
        guard let parameters else { return }
        if !shardsParameters { try parameters.withParameters { try communicator.broadcast($0, root: 0) } }
        try synchronizeBuffers()
    }

    public var parameterResidency: (any ParameterResidency)? { residency }
}

/// One bucket's reduce-scatter: its packed gradients (one block per rank, padded to the
/// longest) in its `region` of the ring, and this rank's averaged block in memory of its
/// own; both stay put until the operation is waited for.
private final class InFlightBucket {
    let bucket: Int
    let send: UnsafeMutableBufferPointer<Float>
    let region: Range<Int>
    let receive: UnsafeMutableBufferPointer<Float>
    var operation: (any PendingOperation)?

    init(bucket: Int, send: UnsafeMutableBufferPointer<Float>, region: Range<Int>, receiveCount: Int) {
        self.bucket = bucket
        self.send = send
        self.region = region
        // Floats need no initialization: the reduce-scatter writes every element.
        receive = .allocate(capacity: receiveCount)
    }

    deinit { receive.deallocate() }

    func start(on communicator: any Communicator) throws {
        operation = try communicator.startReduceScatter(UnsafeBufferPointer(send), into: receive, operation: .average)
    }
}

/// Where each rank's rows of one bucket's parameters sit: runs of the flat buffer, each
/// with its place in the rank's block.
struct BucketPacking {
    /// The bucket's elements in the flat gradient buffer.
    let range: Range<Int>
    /// Per rank, (run in the flat buffer, start in that rank's block).
    let runs: [[(full: Range<Int>, blockStart: Int)]]
    let ownRank: Int
    /// Elements of every rank's block (the largest rank's count).
    let blockCount: Int
    /// Bytes of its packed form and this rank's block while in flight.
    var packedBytes: Int { 4 * blockCount * (runs.count + 1) }

    init(bucket: GradientBuckets.Bucket, rows: OptimizerStateShard) {
        range = bucket.range
        let slots = bucket.slots.min()!..<(bucket.slots.max()! + 1)
        var runs: [[(full: Range<Int>, blockStart: Int)]] = []
        for rank in 0..<rows.group.size {
            var mine: [(full: Range<Int>, blockStart: Int)] = []
            rows.forEachOwnedRun(rank: rank, slots: slots) { full, compact in mine.append((full, compact.lowerBound)) }
            runs.append(mine)
        }
        self.runs = runs
        ownRank = rows.group.rank
        blockCount = runs.map { $0.reduce(0) { $0 + $1.full.count } }.max() ?? 0
    }

    /// Every rank's rows of `gradients` into its block of `send`, each block's padding
    /// (past a rank with fewer rows) zeroed.
    func pack(_ gradients: UnsafeMutableBufferPointer<Float>, into send: UnsafeMutableBufferPointer<Float>) {
        for (rank, rankRuns) in runs.enumerated() {
            var filled = 0
            for run in rankRuns {
                let start = rank * blockCount + run.blockStart
                _ = UnsafeMutableBufferPointer(rebasing: send[start..<(start + run.full.count)])
                    .update(fromContentsOf: gradients[run.full])
                filled += run.full.count
            }
            UnsafeMutableBufferPointer(rebasing: send[(rank * blockCount + filled)..<((rank + 1) * blockCount)]).update(repeating: 0)
        }
    }

    /// Calls `body` with each part of the bucket outside this rank's rows: what is given
    /// back once packed. This rank's rows stay: its averaged block lands there, and they
    /// are its share of the gradients between steps.
    func forEachOthersRange(_ body: (Range<Int>) -> Void) {
        range.forEachGap(around: runs[ownRank].lazy.map(\.full), body)
    }

    /// This rank's averaged block back to its rows of `gradients`.
    func unpackOwn(from block: UnsafeBufferPointer<Float>, into gradients: UnsafeMutableBufferPointer<Float>) {
        for run in runs[ownRank] {
            _ = UnsafeMutableBufferPointer(rebasing: gradients[run.full])
                .update(fromContentsOf: block[run.blockStart..<(run.blockStart + run.full.count)])
        }
    }
}
