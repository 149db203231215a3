import FlockComm
import FlockParallel
import FlockSweep
import FlockTensor
import FlockTrain
import Foundation

/// `flock bench ddp`: the MLP of `flock bench train` (784-512-512-10, batch 128 per rank,
/// one BLAS thread per rank), first on rank 0 alone, then data-parallel on every rank,
/// in the same job.
///
/// efficiency = throughput(N) / (N · throughput(1)), one per interleaved pair (rank 0
/// alone, then all ranks), reported as the median with its spread. The overlap fraction is the share of
/// the gradient allreduce time A (all buckets, measured alone) hidden behind backward:
/// with W₀ the wait after backward when every bucket starts after it (A plus the skew
/// between ranks) and W the wait with overlap, overlap = (W₀ − W) / A, within [0, 1].
public struct DataParallelBenchmark: Sendable {
    public struct Result: Sendable {
        public let ranks: Int
        public let samplesPerSecond: Double
        public let singleRankSamplesPerSecond: Double
        /// throughput(N) ÷ (N · throughput(1)) per interleaved pair (one rank alone, then
        /// all ranks, in the same job).
        public let efficiency: PairedRatio
        public let overlapFraction: Double
        public let allreduceMilliseconds: Double
        public let exposedMilliseconds: Double
    }

    public var layerSizes = [784, 512, 512, 10]
    public var batchSize = 128
    public var steps = 40
    public var bucketBytes = ParallelConfig().bucketBytes
    public var overlap = true
    /// How gradients cross hosts (16-bit with error feedback, or Float32).
    public var compression = WireCompression.none
    /// Interleaved (one rank, all ranks) pairs.
    public var pairs = 11

    public init() {}

    /// Collective over `communicator`.
    public func run(_ communicator: any Communicator) throws -> Result {
        BLAS.setThreadCount(1)
        let n = communicator.size
        let alone = SyntheticModel.mlp(layerSizes: layerSizes, batchSize: batchSize)
        let mlp = SyntheticModel.mlp(layerSizes: layerSizes, batchSize: batchSize)
        let parallel = try DataParallel(parameters: mlp.parameters, communicator: communicator, bucketBytes: bucketBytes,
                                        overlap: overlap, compression: compression)
        try parallel.broadcastModelState()
        parallel.attach(to: mlp.tape)

        // The gradient allreduce on its own: every bucket, no compute to hide behind.
        for _ in 0..<3 { try allreduceBuckets(parallel) }
        try communicator.barrier()
        let allreduceAlone = try slowest(communicator, try Stopwatch.seconds { for _ in 0..<steps { try allreduceBuckets(parallel) } } / Double(steps))
        parallel.overlap = false
        let (_, waitWithoutOverlap) = try timeSteps(mlp, parallel, communicator)
        parallel.overlap = overlap

        // Pairs: rank 0 alone (the others wait at a barrier), then every rank, each pair one efficiency.
        var singleSteps: [Double] = [], parallelSteps: [Double] = [], exposedWaits: [Double] = []
        let efficiency = try PairedRatio.measure(pairs: pairs, baseline: {
            try communicator.barrier()
            var single = 0.0
            if communicator.rank == 0 {
                for _ in 0..<3 { alone.step() }
                single = Stopwatch.seconds { for _ in 0..<steps { alone.step() } } / Double(steps)
            }
            singleSteps.append(try communicator.broadcast([single], root: 0)[0])
            return Double(batchSize) / singleSteps.last!
        }, candidate: {
            let (step, exposed) = try timeSteps(mlp, parallel, communicator)
            parallelSteps.append(step)
            exposedWaits.append(exposed)
            return Double(n * batchSize) / step / Double(n)
        })
        let singleStep = PairedRatio.quantile(singleSteps.sorted(), 0.5), stepTime = PairedRatio.quantile(parallelSteps.sorted(), 0.5)
        let exposed = PairedRatio.quantile(exposedWaits.sorted(), 0.5)
        return Result(ranks: n, samplesPerSecond: Double(n * batchSize) / stepTime, singleRankSamplesPerSecond: Double(batchSize) / singleStep,
                      efficiency: efficiency,
                      overlapFraction: n > 1 && overlap ? min(1, max(0, (waitWithoutOverlap - exposed) / allreduceAlone)) : 0,
                      allreduceMilliseconds: allreduceAlone * 1000, exposedMilliseconds: exposed * 1000)
    }

    /// Seconds per step (slowest rank) and seconds waited after backward (mean over ranks).
    private func timeSteps(_ mlp: SyntheticModel, _ parallel: DataParallel,
                           _ communicator: any Communicator) throws -> (step: Double, wait: Double) {
        for _ in 0..<5 { try mlp.step(dataParallel: parallel) }
        try communicator.barrier()
        var waited = 0.0
        let stepTime = try slowest(communicator, try Stopwatch.seconds {
            for _ in 0..<steps {
                try mlp.step(dataParallel: parallel)
                waited += parallel.lastExposedSeconds
            }
        } / Double(steps))
        let wait = try communicator.allreduce([waited / Double(steps)], operation: .average)[0]
        return (stepTime, wait)
    }

    private func allreduceBuckets(_ parallel: DataParallel) throws {
        parallel.prepare(synchronize: true)
        try parallel.finish()
    }

    private func slowest(_ communicator: any Communicator, _ seconds: Double) throws -> Double {
        try communicator.allreduce([seconds], operation: .max)[0]
    }
}
