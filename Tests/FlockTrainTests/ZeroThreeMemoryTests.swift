import Foundation
import FlockTestSupport
import Testing

/// ZeRO stage 3 under `mpirun`, each rank in a cgroup of its own limited to 1 GiB: a model
/// whose training state (weights, gradients and Adam's moments: 16 bytes per parameter)
/// is 2.5 GiB trains on 4 ranks at `zero: 3`, each holding a quarter of it plus the layer
/// it runs; at `zero: 0` the same job cannot start.
@Suite(.serialized) struct ZeroThreeMemoryTests {
    static let limit = 1 << 30

    /// 40 Dense layers 2048 → 2048 and one to 2 classes: 167.9M parameters, 2.5 GiB of state.
    static func config(zero: Int, epochs: Int = 1) -> String {
        let layers = String(repeating: "  - {type: dense, units: 2048, activation: tanh}\n", count: 40)
        return """
            seed: 2
            epochs: \(epochs)
            data: {source: images.idx, labels: labels.idx, batch_size: 16, validation_split: 0}
            model:
            \(layers)  - {type: dense, units: 2}
            optimizer: {name: adam, lr: 0.0001}
            callbacks: {model_checkpoint: {monitor: loss}}
            parallel: {zero: \(zero)}
            """
    }

    /// `mpirun -np 4`, rank r joining `limits[r]` before it execs `flock train`.
    static func train(zero: Int, epochs: Int = 1, resume: Bool = false, limits: [MemoryLimit],
                      in folder: TemporaryFolder) throws -> ChildProcess.Outcome {
        let config = try folder.write("zero-\(zero)-\(epochs).yaml", config(zero: zero, epochs: epochs))
        let join = #"n=$((OMPI_COMM_WORLD_RANK + 1)); eval "echo \$\$ > \"\${$n}\""; shift 4; exec "$@""#
        return try ChildProcess.mpirun(["-np", "4", "/bin/sh", "-c", join, "join"] + limits.map(\.procsPath)
                                       + [ChildProcess.flockExecutable.path, "train", config.path,
                                          "--run-dir", folder.url.appendingPathComponent("run-\(zero)").path]
                                       + (resume ? ["--resume"] : []),
                                       timeout: 600)
    }

    @Test func twoAndAHalfTimesTheLimitTrainsAtZeroThreeOnFourRanks() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        try StreamingTrainingTests.writeSeparableIDX(rows: 16, width: 2048, in: folder)
        let limits = try (0..<4).map { _ in try MemoryLimit(bytes: Self.limit) }
        defer { for limit in limits { limit.remove() } }
        let sharded = try Self.train(zero: 3, limits: limits, in: folder)
        #expect(!sharded.timedOut && sharded.status == 0, "\(sharded.output)")
        #expect(sharded.output.contains("167.9M parameters × 16/4 B"), "\(sharded.output)")
        #expect(FileManager.default.fileExists(atPath: folder.url.appendingPathComponent("run-3/model.safetensors").path))
        for (rank, limit) in limits.enumerated() {
            // Each rank's quarter of the state (0.63 GiB) was in its own group, under 1 GiB.
            let peak = try #require(limit.peakBytes)
            #expect(peak > 600 << 20 && peak <= Self.limit, "rank \(rank) peaked at \(peak >> 20) MiB")
        }
        // Resuming reads only each rank's rows of the 2 GB checkpoint (reading it whole,
        // every rank would pass its limit).
        let resumed = try Self.train(zero: 3, epochs: 2, resume: true, limits: limits, in: folder)
        #expect(!resumed.timedOut && resumed.status == 0, "\(resumed.output)")
        #expect(resumed.output.contains("after epoch 1"), "\(resumed.output)")
        let plain = try Self.train(zero: 0, limits: limits, in: folder)
        #expect(plain.status != 0 && plain.output.contains("this rank would hold 2.69 GB of training state"), "\(plain.output)")
    }
}
