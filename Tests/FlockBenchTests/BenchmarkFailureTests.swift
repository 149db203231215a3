import Testing
import FlockComm
@testable import FlockBench

/// A benchmark whose peer fails ends with an error naming the rank, never a trap or a hang.
@Suite struct BenchmarkFailureTests {
    /// The benchmark, small (2 buckets, 10 steps), on 2 local ranks whose rank 1 stops
    /// answering from its collective number `collective` on: #12 falls in the timed
    /// allreduce-only loop, #35 in a warm-up training step, #45 in a timed one.
    @Test(arguments: [12, 35, 45])
    func anUnresponsiveRankIsNamed(collective: Int) throws {
        var benchmark = DataParallelBenchmark()
        benchmark.layerSizes = [16, 8, 4]
        benchmark.batchSize = 4
        benchmark.steps = 10
        benchmark.bucketBytes = 64
        let configured = benchmark
        let error = #expect(throws: CommunicatorError.self) {
            _ = try LocalCommunicator.run(ranks: 2, deadline: 1, faults: [.unresponsive(rank: 1, fromCollective: collective)]) {
                try configured.run($0)
            }
        }
        #expect(error?.description.contains("waiting for rank 1") == true, "\(String(describing: error))")
    }
}
