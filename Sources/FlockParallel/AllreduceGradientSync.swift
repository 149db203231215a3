import FlockComm
import FlockNN
import FlockTensor

/// Gradients averaged across a data group with allreduces, bucket by bucket while backward
/// runs (see ``DataParallel``); only a step's last micro-batch synchronizes, the others
/// accumulate locally. Every replica starts a step from the first replica's running
/// statistics (PyTorch DDP's `broadcast_buffers`).
public final class AllreduceGradientSync: GradientSync {
    public let communicator: any Communicator
    public let bucketBytes: Int
    public let overlap: Bool
    /// How gradients cross hosts (see `WireCompression`).
    public let compression: WireCompression
    /// Set by `prepare`.
    public private(set) var dataParallel: DataParallel?
    private var statistics: StatisticsSum?

    /// `bucketBytes` sizes the buckets (PyTorch DDP's `bucket_cap_mb`); `overlap: false`
    /// starts every bucket after backward; `compression` rounds what crosses hosts to 16
    /// bits with error feedback.
    public init(communicator: any Communicator, bucketBytes: Int = 1 << 20, overlap: Bool = true,
                compression: WireCompression = .none) {
        self.communicator = communicator
        self.bucketBytes = bucketBytes
        self.overlap = overlap
        self.compression = compression
    }

    public var group: (any Communicator)? { communicator }

    /// Moves the gradients into the group's memory and broadcasts the first replica's
    /// parameters and buffers. Collective.
    public func prepare(parameters: ParameterStore, model: Model) throws {
        let parallel = try DataParallel(parameters: parameters, communicator: communicator, bucketBytes: bucketBytes,
                                        overlap: overlap, compression: compression)
        try parallel.broadcastModelState(root: 0)
        dataParallel = parallel
        statistics = communicator.size > 1 && model.hasSynchronizedStatistics ? StatisticsSum(communicator: communicator) : nil
    }

    public func attach(to tape: Tape) { dataParallel?.attach(to: tape) }

    public func beginStep(_ step: Int) throws {
        statistics?.clear()
        try synchronizeBuffers()
    }

    public func beginMicroBatch(isLast: Bool, samples: Int) throws -> ((inout [Double]) -> Void)? {
        dataParallel?.prepare(synchronize: isLast)
        return try statistics?.forMicroBatch(samples: samples)
    }

    public func finishStep() throws {
        try dataParallel?.finish()
        try statistics?.rethrow()
    }

    public func synchronizeBuffers() throws {
        guard let dataParallel, !dataParallel.parameters.bufferSlots.isEmpty else { return }
        try dataParallel.parameters.withBuffers { try communicator.broadcast($0, root: 0) }
    }

    public func synchronizeModelState() throws {
        try dataParallel?.broadcastModelState(root: 0)
    }
}

/// The sum over the data group that synchronized batch normalization calls inside forward
/// and backward, where nothing can throw: the first failure is kept and thrown after the
/// step.
final class StatisticsSum {
    let communicator: any Communicator
    private var failure: (any Error)?

    init(communicator: any Communicator) { self.communicator = communicator }

    /// The sum for a micro-batch with `samples` on this rank. Synchronized statistics need
    /// every rank in every layer's collective: a micro-batch that leaves some rank without
    /// samples (a last batch smaller than the group) keeps per-rank statistics instead.
    /// Collective.
    func forMicroBatch(samples: Int) throws -> ((inout [Double]) -> Void)? {
        guard try communicator.allreduce([Double(samples)], operation: .min)[0] > 0 else { return nil }
        return sum
    }

    func sum(_ values: inout [Double]) {
        guard failure == nil else { return }
        do { values = try communicator.allreduce(values, operation: .sum) } catch { failure = error }
    }

    func clear() { failure = nil }

    func rethrow() throws {
        if let failure { throw failure }
    }
}

extension Model {
    /// Whether some layer normalizes with statistics synchronized across the data group.
    var hasSynchronizedStatistics: Bool {
        namedLayers.contains { $0.layer.synchronizesStatistics }
    }
}
