import ArgumentParser
import Flock
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Measure speed against a baseline run in the same process.",
        subcommands: [TrainBench.self, AllreduceBench.self])
}

struct TrainBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "One MLP training step vs the cblas_sgemm ceiling of the same shapes (one BLAS thread).")

    @Option(help: "Model to time (only mlp: 784-512-512-10, batch 128).")
    var model = "mlp"

    @Flag(help: "End with one JSON line.")
    var json = false

    func validate() throws {
        guard model == "mlp" else { throw ValidationError("--model: unknown model '\(model)' (expected: mlp)") }
    }

    func run() throws {
        let result = TrainBenchmark().run()
        print("model mlp 784-512-512-10, batch 128, SGD momentum, 1 BLAS thread")
        print(String(format: "step:     %10.0f samples/s", result.samplesPerSecond))
        print(String(format: "ceiling:  %10.0f samples/s (cblas_sgemm at the step's shapes)", result.ceilingSamplesPerSecond))
        print(String(format: "ratio:    %10.3f", result.ratio))
        print(String(format: "outside sgemm: %.3f ms per step", result.overheadMilliseconds))
        if json {
            let object: [String: Any] = ["model": result.model, "samples_per_second": result.samplesPerSecond,
                                         "ceiling_samples_per_second": result.ceilingSamplesPerSecond, "ratio": result.ratio]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}

struct AllreduceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Our allreduce vs MPI_Allreduce (sum, Float32, in place), 4 KB to 64 MB. Run under mpirun.")

    @Flag(help: "End with one JSON line.")
    var json = false

    func run() throws {
        let environment = try MPIEnvironment()
        defer { environment.finalize() }
        let comm = try environment.world()
        let rows = try AllreduceBenchmark().run(comm)
        guard comm.rank == 0 else { return }
        print("allreduce, \(comm.size) ranks, shared memory \(comm.usesSharedMemory); bus bandwidth in GB/s (nccl-tests definition)")
        print("     bytes      flock        MPI    ratio      local     memcpy")
        for row in rows {
            print(String(format: "%10d %10.2f %10.2f %8.2f %10.2f %10.2f", row.bytes, row.busBandwidth, row.mpiBusBandwidth,
                         row.ratio, row.localBusBandwidth, row.memcpyBandwidth))
        }
        if json {
            let results: [[String: Any]] = rows.map {
                ["bytes": $0.bytes, "busbw_gbps": $0.busBandwidth, "mpi_busbw_gbps": $0.mpiBusBandwidth, "ratio": $0.ratio,
                 "local_busbw_gbps": $0.localBusBandwidth, "memcpy_gbps": $0.memcpyBandwidth]
            }
            let data = try JSONSerialization.data(withJSONObject: ["ranks": comm.size, "results": results], options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
