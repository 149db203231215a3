import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

/// `flock train` of a pipeline job launched as users launch it, as child processes under
/// a timeout.
@Suite(.serialized) struct PipelineCommandTests {
    func writeConfig(_ folder: TemporaryFolder, epochs: Int = 2) throws -> URL {
        try folder.write("pipeline.yaml", """
            seed: 5
            epochs: \(epochs)
            data: {source: \(DataParallelTests.digits), label_column: label, batch_size: 48}
            model:
              - {type: dense, units: 32, activation: tanh}
              - {type: dense, units: 24, activation: relu}
              - {type: dense, units: 10}
            optimizer: {name: adam, lr: 0.01}
            parallel: {pipeline: 2, schedule: 1f1b, micro_batches: 4}
            """)
    }

    func weights(_ runDirectory: URL) throws -> [Float] { try DistributedCommandTests().weights(runDirectory) }

    /// The shards write the final model into one file at their offsets (tensor slices
    /// split on both axes, a row-parallel bias on one slice): it holds exactly the weights
    /// of the last checkpoint, put together from the shards' files.
    @Test func theShardsWriteTheWholeModelsFileThemselves() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder, epochs: 1).path
        let run = folder.url.appendingPathComponent("run")
        let trained = try ChildProcess.flock(["train", config, "--ranks", "4", "--set", "parallel.tensor=2", "--run-dir", run.path])
        #expect(trained.status == 0, "\(trained.standardError)")
        let written = try SafeTensors.read(run.appendingPathComponent("model.safetensors"))
        let checkpoint = try Checkpoint.load(run.appendingPathComponent("checkpoints/last")).model
        #expect(written.keys.sorted() == checkpoint.keys.sorted() && written.count == 6)
        for (name, tensor) in checkpoint { #expect(written[name]?.scalars == tensor.scalars && written[name]?.shape == tensor.shape, "\(name)") }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: run.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func twoStagesUnderMPIEqualLocalRanksAndOneRank() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder).path
        let local = folder.url.appendingPathComponent("local"), mpi = folder.url.appendingPathComponent("mpi")
        let single = folder.url.appendingPathComponent("single")
        let threads = try ChildProcess.flock(["train", config, "--ranks", "2", "--run-dir", local.path])
        #expect(threads.status == 0, "\(threads.standardError)")
        #expect(threads.standardOutput.contains("stage 1 (rank 1): layers 1:dense 2:dense"), "\(threads.standardOutput)")
        let processes = try ChildProcess.mpirun(["-np", "2", ChildProcess.flockExecutable.path, "train", config, "--run-dir", mpi.path])
        #expect(!processes.timedOut && processes.status == 0, "\(processes.standardError)")
        let one = try ChildProcess.flock(["train", config, "--set", "parallel.pipeline=1", "--run-dir", single.path])
        #expect(one.status == 0, "\(one.standardError)")
        // The same code on either backend: bit-identical; and the whole model's weights as one rank trains them.
        #expect(try weights(local) == weights(mpi))
        let difference = DataParallelTests.relativeDifference(try weights(mpi), try weights(single))
        #expect(difference < 1e-5, "relative difference \(difference)")
    }

    /// Kills stage 1's process mid-training: mpirun ends the job at once (not at the
    /// collective deadline), naming the rank, which the start-up plan maps to its stage.
    @Test func killingAStageEndsTheJobNamingIt() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder, epochs: 500).path
        let run = folder.url.appendingPathComponent("run")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["mpirun", "--oversubscribe", "--allow-run-as-root", "-np", "2", ChildProcess.flockExecutable.path,
                             "train", config, "--run-dir", run.path]
        process.environment = ChildProcess.environment()
        let output = folder.url.appendingPathComponent("output.txt")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        // Wait (up to a minute) for the first epoch, then kill stage 1's process.
        var stage1: Int32?
        for _ in 0..<600 where stage1 == nil {
            usleep(100_000)
            let logged = (try? String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)) ?? ""
            if !logged.isEmpty { stage1 = Self.processOfRank(1, under: process.processIdentifier) }
        }
        let victim = try #require(stage1, "no epoch finished or no rank-1 process found")
        kill(victim, SIGKILL)
        // mpirun must end the job well within the watchdog (the collective deadline is 300 s).
        let watchdog = DispatchWorkItem { kill(process.processIdentifier, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 60, execute: watchdog)
        process.waitUntilExit()
        watchdog.cancel()
        try handle.close()
        let text = try String(contentsOf: output, encoding: .utf8)
        #expect(process.terminationReason == .exit && process.terminationStatus != 0, "\(text)")
        #expect(text.contains("process rank 1") && text.contains("signal 9"), "\(text)")
        #expect(text.contains("stage 1 (rank 1)"), "\(text)")
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("model.safetensors").path))
    }

    /// The process of MPI world rank `rank` among the descendants of `ancestor` (never
    /// another job's: suites run side by side).
    static func processOfRank(_ rank: Int, under ancestor: Int32) -> Int32? {
        func parent(of pid: Int32) -> Int32? {
            guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return nil }
            // After "pid (command) ": the state, then the parent's pid.
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 ? Int32(fields[1]) : nil
        }
        func descends(_ pid: Int32) -> Bool {
            var current = pid
            for _ in 0..<16 {
                guard let next = parent(of: current), next > 1 else { return false }
                if next == ancestor { return true }
                current = next
            }
            return false
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry), descends(pid),
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let variables = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)") { return pid }
        }
        return nil
    }
}
