import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

/// `flock train` launched both ways a user launches a data-parallel job, as child
/// processes under a timeout.
@Suite(.serialized) struct DistributedCommandTests {
    func writeConfig(_ folder: TemporaryFolder) throws -> URL {
        try folder.write("ddp.yaml", """
            seed: 5
            epochs: 2
            data: {source: \(DataParallelTests.digits), label_column: label, batch_size: 48}
            model:
              - {type: dense, units: 32, activation: tanh}
              - {type: dense, units: 10}
            optimizer: {name: momentum, lr: 0.05}
            """)
    }

    func mpirun(_ arguments: [String], timeout: TimeInterval = 180) throws -> ChildProcess.Outcome {
        try ChildProcess.mpirun(arguments, timeout: timeout)
    }

    func weights(_ runDirectory: URL) throws -> [Float] {
        let tensors = try SafeTensors.read(runDirectory.appendingPathComponent("model.safetensors"))
        return tensors.keys.sorted().flatMap { tensors[$0]!.scalars }
    }

    @Test func mpirunTwoRanksEqualsOneRank() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder)
        let single = folder.url.appendingPathComponent("single"), parallel = folder.url.appendingPathComponent("mpi")
        let one = try ChildProcess.flock(["train", config.path, "--run-dir", single.path])
        #expect(one.status == 0, "\(one.standardError)")
        let two = try mpirun(["-np", "2", ChildProcess.flockExecutable.path, "train", config.path, "--run-dir", parallel.path])
        #expect(!two.timedOut && two.status == 0, "\(two.standardError)")
        let difference = DataParallelTests.relativeDifference(try weights(parallel), try weights(single))
        #expect(difference < 1e-5, "relative difference \(difference)")
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: parallel.appendingPathComponent("summary.json"))) as! [String: Any]
        #expect(summary["world_size"] as? Int == 2)
        // Only rank 0 printed its progress.
        #expect(two.standardOutput.components(separatedBy: "epoch 1/2").count == 2)
    }

    @Test func localRanksMatchMPIRanks() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder)
        let local = folder.url.appendingPathComponent("local"), mpi = folder.url.appendingPathComponent("mpi")
        let threads = try ChildProcess.flock(["train", config.path, "--ranks", "2", "--run-dir", local.path])
        #expect(threads.status == 0, "\(threads.standardError)")
        let processes = try mpirun(["-np", "2", ChildProcess.flockExecutable.path, "train", config.path, "--run-dir", mpi.path])
        #expect(processes.status == 0, "\(processes.standardError)")
        // The same code path on either backend: bit-identical weights.
        #expect(try weights(local) == weights(mpi))
    }

    /// Zero 1 and 2 under `mpirun` (zero 2: 0.01 MB gradient buckets reduce-scattered while
    /// backward runs; on one node, summed in the node's shared window, `BucketRing`) against
    /// plain data parallelism as threads:
    /// zero 1 bit for bit, zero 2 (its sums in another order) to 1e-5; each data rank
    /// writes its optimizer rows.
    @Test(arguments: [1, 2])
    func zeroUnderMPIMatchesPlainDataParallelism(stage: Int) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder)
        let plain = folder.url.appendingPathComponent("plain"), sharded = folder.url.appendingPathComponent("zero")
        let threads = try ChildProcess.flock(["train", config.path, "--ranks", "2", "--run-dir", plain.path])
        #expect(threads.status == 0, "\(threads.standardError)")
        let processes = try mpirun(["-np", "2", ChildProcess.flockExecutable.path, "train", config.path, "--set", "parallel.zero=\(stage)",
                                    "--set", "parallel.bucket_mb=0.01", "--run-dir", sharded.path])
        #expect(processes.status == 0, "\(processes.standardError)")
        let bytes = stage == 1 ? "parameters × 8 + 4/2 B" : "parameters × 4 + 4/2 + 4/2 B"
        #expect(processes.standardOutput.contains(bytes), "\(processes.standardOutput)")
        if stage == 1 {
            #expect(try weights(plain) == weights(sharded))
        } else {
            let difference = DataParallelTests.relativeDifference(try weights(sharded), try weights(plain))
            #expect(difference < 1e-5, "relative difference \(difference)")
        }
        let last = sharded.appendingPathComponent("checkpoints/last").resolvingSymlinksInPath()
        let files = try FileManager.default.contentsOfDirectory(atPath: last.path)
        #expect(files.contains("optimizer.zero-1.whole.safetensors") && !files.contains("optimizer.safetensors"), "\(files)")
    }

    /// Zero 3 under `mpirun` with what once needed whole weights — fine-tuning from a
    /// checkpoint (each rank reading its rows), max-norm, weight noise and restoring the best
    /// weights — on a layer list and on a graph model (its node named `layers`, so the
    /// checkpoint's names fit): the model zero 0 trains as threads, to 1e-5.
    @Test(arguments: [false, true])
    func zeroThreeUnderMPIMatchesPlainDataParallelism(graph: Bool) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let source = folder.url.appendingPathComponent("source")
        let first = try ChildProcess.flock(["train", try writeConfig(folder).path, "--ranks", "2", "--run-dir", source.path])
        #expect(first.status == 0, "\(first.standardError)")
        let layers = "[{type: dense, units: 32, activation: tanh}, {type: dense, units: 10}]"
        let model = graph ? "{inputs: [{name: pixels}], nodes: [{name: layers, inputs: [pixels], layers: \(layers)}], outputs: [layers]}" : layers
        let config = try folder.write("tune.yaml", """
            seed: 6
            epochs: 3
            data: {source: \(DataParallelTests.digits), label_column: label, batch_size: 48, validation_split: 0.2}
            model: \(model)
            optimizer: {name: momentum, lr: 0.05}
            regularization: {max_norm: 1.0, weight_noise: 0.02}
            callbacks: {early_stopping: {monitor: val_loss, mode: max, patience: 5, restore_best_weights: true}}
            init_from: {checkpoint: \(source.path)}
            """)
        let plain = folder.url.appendingPathComponent("plain"), sharded = folder.url.appendingPathComponent("zero")
        let threads = try ChildProcess.flock(["train", config.path, "--ranks", "2", "--run-dir", plain.path])
        #expect(threads.status == 0, "\(threads.standardError)")
        let processes = try mpirun(["-np", "2", ChildProcess.flockExecutable.path, "train", config.path, "--set", "parallel.zero=3",
                                    "--run-dir", sharded.path])
        #expect(!processes.timedOut && processes.status == 0, "\(processes.standardError)")
        #expect(processes.standardOutput.contains("parameters × 12/2 B") && processes.standardOutput.contains("loaded 4"),
                "\(processes.standardOutput)")
        let difference = DataParallelTests.relativeDifference(try weights(sharded), try weights(plain))
        #expect(difference < 1e-5, "relative difference \(difference)")
    }

    @Test func aRankWithAnotherModelFailsAtStartUpUnderMPI() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder)
        let runDirectory = folder.url.appendingPathComponent("run")
        let flock = ChildProcess.flockExecutable.path
        // MPMD: rank 1 overrides the first layer's width.
        let outcome = try mpirun(["-np", "1", flock, "train", config.path, "--run-dir", runDirectory.path, ":",
                                  "-np", "1", flock, "train", config.path, "--run-dir", runDirectory.path, "--set", "model[0].units=16"],
                                 timeout: 120)
        #expect(!outcome.timedOut && outcome.status != 0)
        #expect(outcome.standardError.contains("ranks hold different models: parameter layers.0.weight has shape [32, 64] on rank 0 but [16, 64] on rank 1"),
                "\(outcome.standardError)")
        #expect(!FileManager.default.fileExists(atPath: runDirectory.path))
    }
}
