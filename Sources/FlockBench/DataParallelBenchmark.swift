import FlockSweep
import FlockTrain
import Foundation

/// `flock bench ddp`: the MLP of `flock bench train` (784-512-512-10, batch 128 per rank,
/// one BLAS thread per rank), first on rank 0 alone, then data-parallel on every rank,
/// in the same job.
///
/// efficiency = throughput(N) / (N · throughput(1)). The overlap fraction is the share of
/// the gradient allreduce time A (all buckets, measured alone) hidden behind backward:
/// with W₀ the wait after backward when every bucket starts after it (A plus the skew
/// between ranks) and W the wait with overlap, overlap = (W₀ − W) / A, within [0, 1].
public struct DataParallelBenchmark: Sendable {
    public struct Result: Sendable {
        public let ranks: Int
        public let samplesPerSecond: Double
        public let singleRankSamplesPerSecond: Double
        public let efficiency: Double
        public let overlapFraction: Double
        public let allreduceMilliseconds: Double
        public let exposedMilliseconds: Double
    }

    public var layerSizes = [784, 512, 512, 10]
    public var batchSize = 128
    public var steps = 40
    public var bucketBytes = ParallelConfig().bucketBytes
    public var overlap = true

    public init() {}

    /// Collective over `communicator`.
    public func run(_ communicator: any Communicator) throws -> Result {
        BLAS.setThreadCount(1)
        let n = communicator.size
        var single = 0.0
        if communicator.rank == 0 {
            let alone = SyntheticModel.mlp(layerSizes: layerSizes, batchSize: batchSize)
            for _ in 0..<5 { alone.step() }
            single = Stopwatch.seconds { for _ in 0..<steps { alone.step() } } / Double(steps)
        }
        let singleStep = try communicator.broadcast([single], root: 0)[0]

        let mlp = SyntheticModel.mlp(layerSizes: layerSizes, batchSize: batchSize)
        let parallel = try DataParallel(parameters: mlp.parameters, communicator: communicator, bucketBytes: bucketBytes,
                                        overlap: overlap)
        try parallel.broadcastModelState()
        parallel.attach(to: mlp.tape)

        // The gradient allreduce on its own: every bucket, no compute to hide behind.
        for _ in 0..<3 { try allreduceBuckets(parallel) }
        try communicator.barrier()
        let alone = try slowest(communicator, try Stopwatch.seconds { for _ in 0..<steps { try allreduceBuckets(parallel) } } / Double(steps))

        parallel.overlap = false
        let (_, waitWithoutOverlap) = try timeSteps(mlp, parallel, communicator)
        parallel.overlap = overlap
        let (stepTime, exposed) = try timeSteps(mlp, parallel, communicator)

        let throughput = Double(n * batchSize) / stepTime, singleThroughput = Double(batchSize) / singleStep
        return Result(ranks: n, samplesPerSecond: throughput, singleRankSamplesPerSecond: singleThroughput,
                      efficiency: throughput / (Double(n) * singleThroughput),
                      overlapFraction: n > 1 && overlap ? min(1, max(0, (waitWithoutOverlap - exposed) / alone)) : 0,
                      allreduceMilliseconds: alone * 1000, exposedMilliseconds: exposed * 1000)
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
