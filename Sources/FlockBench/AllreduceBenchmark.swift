import FlockComm
import FlockSweep
import FlockTrain
import Foundation

/// `flock bench allreduce`: our allreduce (sum, Float32, in place) against
/// `MPI_Allreduce` in the same job, plus the local backend and memcpy at the same sizes.
///
/// Bus bandwidth follows nccl-tests: algbw = bytes / time, busbw = algbw · 2(n − 1)/n.
/// Times are the slowest rank's, best of `trials`. Our allreduce runs on a buffer from
/// `allocateBuffer` (shared memory on one node), as the trainer's gradient buffer is.
public struct AllreduceBenchmark {
    public struct Row: Sendable {
        public let bytes: Int
        public let busBandwidth: Double
        public let mpiBusBandwidth: Double
        public let localBusBandwidth: Double
        public let memcpyBandwidth: Double
        /// Our bandwidth ÷ MPI_Allreduce's, per interleaved pair (MPI, ours, MPI, ours, …).
        public let ratio: PairedRatio
    }

    public var sizes: [Int] = [4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20, 16 << 20, 64 << 20]
    /// Interleaved (MPI, ours) pairs per size.
    public var trials = 5
    /// Ours across hosts as 16-bit values with error feedback (the bytes are still counted as Float32).
    public var compression = WireCompression.none

    public init() {}

    /// Collective over `comm`; every rank gets the same rows (rank 0's local and memcpy figures).
    public func run(_ comm: MPICommunicator) throws -> [Row] {
        let n = comm.size
        let busFactor = n > 1 ? 2 * Double(n - 1) / Double(n) : 1
        var rows: [Row] = []
        for bytes in sizes {
            let count = bytes / MemoryLayout<Float>.stride
            let iterations = max(5, min(2000, (256 << 20) / bytes))
            let ours = try comm.allocateBuffer(count: count, of: Float.self)
            let theirs = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            defer { theirs.deallocate() }
            // Values that stay finite after many summations.
            for i in 0..<count { ours[i] = Float(i % 3) * 1e-3; theirs[i] = ours[i] }

            for _ in 0..<2 {
                try comm.allreduce(ours, operation: .sum, compression: compression)
                try comm.mpiAllreduceSum(theirs)
            }
            var ourTimes: [Double] = [], mpiTimes: [Double] = []
            let ratio = try PairedRatio.measure(pairs: trials, baseline: {
                mpiTimes.append(try timeSlowestRank(comm, iterations: iterations) { try comm.mpiAllreduceSum(theirs) })
                return 1 / mpiTimes.last!
            }, candidate: {
                ourTimes.append(try timeSlowestRank(comm, iterations: iterations) {
                    try comm.allreduce(ours, operation: .sum, compression: compression)
                })
                return 1 / ourTimes.last!
            })
            let ourTime = PairedRatio.quantile(ourTimes.sorted(), 0.5), mpiTime = PairedRatio.quantile(mpiTimes.sorted(), 0.5)
            var local = 0.0, memcpy = 0.0
            if comm.rank == 0 {
                local = try localTime(ranks: n, count: count, iterations: iterations)
                memcpy = memcpyTime(bytes: bytes, iterations: iterations)
            }
            let shared = try comm.broadcast([local, memcpy], root: 0)
            rows.append(Row(bytes: bytes,
                            busBandwidth: Double(bytes) / ourTime * busFactor / 1e9,
                            mpiBusBandwidth: Double(bytes) / mpiTime * busFactor / 1e9,
                            localBusBandwidth: Double(bytes) / shared[0] * busFactor / 1e9,
                            memcpyBandwidth: Double(bytes) / shared[1] / 1e9, ratio: ratio))
        }
        return rows
    }

    /// Seconds per call of `body`, the slowest rank's, best of `trials`.
    /// Seconds per call of `iterations` calls, on the slowest rank.
    private func timeSlowestRank(_ comm: MPICommunicator, iterations: Int, _ body: () throws -> Void) throws -> Double {
        try comm.barrier()
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { try body() }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations)
        return try comm.allreduce([elapsed], operation: .max)[0]
    }

    private func localTime(ranks: Int, count: Int, iterations: Int) throws -> Double {
        let trials = trials
        let times = try LocalCommunicator.run(ranks: ranks) { comm -> Double in
            var data = [Float](repeating: 1e-3, count: count)
            var best = Double.infinity
            try data.withUnsafeMutableBufferPointer { buffer in
                for _ in 0..<2 { try comm.allreduce(buffer, operation: .sum) }
                for _ in 0..<trials {
                    try comm.barrier()
                    let start = DispatchTime.now().uptimeNanoseconds
                    for _ in 0..<iterations { try comm.allreduce(buffer, operation: .sum) }
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations)
                    best = min(best, try comm.allreduce([elapsed], operation: .max)[0])
                }
            }
            return best
        }
        return times[0]
    }

    private func memcpyTime(bytes: Int, iterations: Int) -> Double {
        let source = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let target = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        defer { source.deallocate(); target.deallocate() }
        source.initializeMemory(as: UInt8.self, repeating: 1, count: bytes)
        target.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        var best = Double.infinity
        for _ in 0..<trials {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<iterations { target.copyMemory(from: source, byteCount: bytes) }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 / Double(iterations))
        }
        return best
    }
}
