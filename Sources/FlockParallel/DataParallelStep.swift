/// The data-parallel step: each rank of the data group runs its slice of every
/// micro-batch, and gradient buckets are averaged across the group while backward runs
/// (see `DataParallel`). Only the last micro-batch of a step synchronizes; the others
/// accumulate locally.
public final class DataParallelStep: StepStrategy {
    public let layout: ParallelLayout
    public let bucketBytes: Int
    public let overlap: Bool
    /// How gradients cross hosts (see `WireCompression`).
    public let compression: WireCompression
    /// Set by `prepare`.
    public private(set) var dataParallel: DataParallel?
    private var runner: MicroBatchRunner?

    /// `layout`'s data group averages gradients; `bucketBytes` sizes the buckets
    /// (PyTorch DDP's `bucket_cap_mb`); `overlap: false` starts every bucket after backward;
    /// `compression` rounds what crosses hosts to 16 bits with error feedback.
    public init(layout: ParallelLayout, bucketBytes: Int = 1 << 20, overlap: Bool = true, compression: WireCompression = .none) {
        self.layout = layout
        self.bucketBytes = bucketBytes
        self.overlap = overlap
        self.compression = compression
    }

    public var parallelLayout: ParallelLayout? { layout }
    public var world: (any Communicator)? { layout.world }
    public var dataGroup: (any Communicator)? { layout.dataGroup }

    /// Checks the model and config across the groups, moves the gradients into the data
    /// group's memory, and broadcasts rank 0's parameters and buffers. Collective.
    public func prepare(model: Model, configHash: UInt64) throws {
        guard layout.pipelineStages == 1 && layout.tensorWidth == 1 else {
            throw ParallelLayout.LayoutError(description: "data parallelism alone cannot run a layout of \(ParallelLayout.describe(pipelineStages: layout.pipelineStages, tensorWidth: layout.tensorWidth))")
        }
        try ModelConsistency.verify(model.parameters, configHash: configHash, layout: layout)
        let parallel = try DataParallel(parameters: model.parameters, communicator: layout.dataGroup,
                                        bucketBytes: bucketBytes, overlap: overlap, compression: compression)
        try parallel.broadcastModelState(root: 0)
        let runner = MicroBatchRunner(parameters: model.parameters)
        parallel.attach(to: runner.tape)
        dataParallel = parallel
        self.runner = runner
    }

    public func computeGradients(_ microBatches: [MicroBatch], model: Model, loss: Loss, step: Int,
                                 generator: inout RandomGenerator) throws -> [MicroBatchOutcome] {
        guard let dataParallel, let runner else { preconditionFailure("DataParallelStep used before prepare(model:configHash:)") }
        precondition(runner.tape.parameters === model.parameters, "DataParallelStep prepared for another model")
        // Errors of the allreduces that start during backward name this step.
        layout.dataGroup.step = step
        layout.world.step = step
        // Every replica starts the step from the first replica's running statistics (as
        // PyTorch DDP's broadcast_buffers).
        try synchronizeBuffers()
        var outcomes: [MicroBatchOutcome] = []
        let statistics = StatisticsSum(communicator: layout.dataGroup)
        let synchronizes = layout.dataGroup.size > 1 && model.hasSynchronizedStatistics
        for (index, batch) in microBatches.enumerated() {
            dataParallel.prepare(synchronize: index == microBatches.count - 1)
            // Synchronized statistics need every rank in every layer's collective: a micro-batch
            // that leaves some rank without samples (a last batch smaller than the group) keeps
            // per-rank statistics instead.
            let everyRankHasSamples = try synchronizes
                && layout.dataGroup.allreduce([Double(batch.sampleCount)], operation: .min)[0] > 0
            guard batch.sampleCount > 0 else { continue }
            outcomes.append(runner.forwardBackward(batch, model: model, loss: loss, generator: &generator,
                                                   sumAcrossDataGroup: everyRankHasSamples ? statistics.sum : nil))
        }
        try dataParallel.finish()
        try statistics.rethrow()
        return outcomes
    }

    public func evaluate(features: Tensor, targets: Tensor, model: Model, loss: Loss) throws -> MicroBatchOutcome {
        guard let runner else { preconditionFailure("DataParallelStep used before prepare(model:configHash:)") }
        return runner.evaluate(features: features, targets: targets, model: model, loss: loss)
    }

    public func synchronizeBuffers() throws {
        guard let dataParallel, !dataParallel.parameters.bufferSlots.isEmpty else { return }
        try dataParallel.parameters.withBuffers { try layout.dataGroup.broadcast($0, root: 0) }
    }

    public func synchronizeModelState() throws {
        try dataParallel?.broadcastModelState(root: 0)
    }
}

/// The sum over the data group that synchronized batch normalization calls inside forward
/// and backward, where nothing can throw: the first failure is kept and thrown after the
/// step.
private final class StatisticsSum {
    let communicator: any Communicator
    private var failure: (any Error)?

    init(communicator: any Communicator) { self.communicator = communicator }

    func sum(_ values: inout [Double]) {
        guard failure == nil else { return }
        do { values = try communicator.allreduce(values, operation: .sum) } catch { failure = error }
    }

    func rethrow() throws {
        if let failure { throw failure }
    }
}

extension Model {
    /// Whether some layer normalizes with statistics synchronized across the data group.
    var hasSynchronizedStatistics: Bool {
        namedLayers.contains { ($0.layer as? BatchNorm)?.synchronized == true }
    }
}
