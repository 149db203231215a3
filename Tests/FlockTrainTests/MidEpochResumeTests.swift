import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

/// `model_checkpoint.every_n_steps`: `flock train` killed right after a step checkpoint in
/// the middle of an epoch resumes from it and ends byte-identical to an uninterrupted run.
@Suite(.serialized) struct MidEpochResumeTests {
    /// Dropout and Adam, so RNG streams and optimizer state must be restored exactly;
    /// 36 steps an epoch (1438 training samples, batch 40), a checkpoint every 10 steps.
    func writeConfig(_ folder: TemporaryFolder) throws -> String {
        try folder.write("job.yaml", """
            seed: 19
            epochs: 3
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 40}
            model:
              - {type: dense, units: 32, activation: relu}
              - {type: dropout, rate: 0.2}
              - {type: dense, units: 10}
            optimizer: {name: adam, lr: 0.002}
            schedule: {name: cosine, warmup_epochs: 1}
            callbacks: {model_checkpoint: {every_n_steps: 10}}
            """).path
    }

    /// The state of `checkpoints/last` in `run`, if it holds one.
    func lastState(_ run: URL) -> TrainingState? {
        let state = run.appendingPathComponent("checkpoints/last/state.json")
        guard let data = try? Data(contentsOf: state) else { return nil }
        return try? JSONDecoder().decode(TrainingState.self, from: data)
    }

    /// Starts `flock train` on `run` with slow checkpoint writes and SIGKILLs it as soon as
    /// `checkpoints/last` is a step checkpoint in the middle of epoch 2. Returns the state
    /// the kill left and whether the process was still running when it was hit.
    func killAfterAMidEpochCheckpoint(config: String, run: URL) throws -> (state: TrainingState?, wasRunning: Bool) {
        let process = Process()
        process.executableURL = ChildProcess.faultRunnerExecutable
        // Each checkpoint takes 5 pauses to write: hundreds of ms between `last` moving
        // and moving again, to see it and kill.
        process.arguments = ["80", "train", config, "--run-dir", run.path]
        process.environment = ChildProcess.environment()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // A deadline on the poll only, so a hung child fails the test instead of hanging it.
        var polls = 0
        while process.isRunning && polls < 24_000 {
            if let state = lastState(run), state.epoch == 1, state.batchInEpoch > 0 { break }
            usleep(5_000)
            polls += 1
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        // `isRunning` lags an exit, so the termination reason says whether the kill hit it.
        let wasRunning = process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
        return (lastState(run), wasRunning)
    }

    /// Trains the config file `config` uninterrupted and, in another run folder, killed
    /// after a checkpoint in the middle of epoch 1 and resumed: both end with the same
    /// weights, byte for byte, and the same validation metrics.
    func expectKilledMidEpochResumesAsUninterrupted(config: String, in folder: TemporaryFolder) throws {
        let (reference, run, _) = try runUninterruptedAndKilled(config: config, in: folder)
        let resumed = try ChildProcess.flock(["train", config, "--run-dir", run.path, "--resume"])
        try #require(resumed.status == 0, "\(resumed.output)")
        let model = try Data(contentsOf: run.appendingPathComponent("model.safetensors"))
        #expect(model == (try Data(contentsOf: reference.appendingPathComponent("model.safetensors"))), "final weights differ")
        #expect(try metrics(run).map(\.validation) == (try metrics(reference).map(\.validation)))
    }

    /// Runs `config` to its end in `reference`, and in `run` until a kill after a
    /// checkpoint in the middle of epoch 1 (checked: the job was running, the checkpoint
    /// is mid-epoch 1); returns that checkpoint's state.
    func runUninterruptedAndKilled(config: String, in folder: TemporaryFolder) throws -> (reference: URL, run: URL, killedAt: TrainingState) {
        let reference = folder.url.appendingPathComponent("reference")
        let uninterrupted = try ChildProcess.flock(["train", config, "--run-dir", reference.path])
        try #require(uninterrupted.status == 0, "\(uninterrupted.output)")
        let run = folder.url.appendingPathComponent("run")
        let (state, wasRunning) = try killAfterAMidEpochCheckpoint(config: config, run: run)
        #expect(wasRunning, "the job had already exited when it was killed")
        let killedAt = try #require(state, "no checkpoint before the kill")
        #expect(killedAt.epoch == 1 && killedAt.batchInEpoch > 0, "\(killedAt)")
        return (reference, run, killedAt)
    }

    /// metrics.jsonl without the timing columns (which differ between any two runs), split
    /// into the validation metrics with epoch and lr, and the training metrics.
    func metrics(_ run: URL) throws -> [(validation: String, training: String)] {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let validation = object.filter { $0.key.hasPrefix("val_") || $0.key == "epoch" || $0.key == "lr" }
            let training = object.filter { ["loss", "accuracy"].contains($0.key) }
            return (String(decoding: try JSONSerialization.data(withJSONObject: validation, options: [.sortedKeys]), as: UTF8.self),
                    String(decoding: try JSONSerialization.data(withJSONObject: training, options: [.sortedKeys]), as: UTF8.self))
        }
    }

    @Test func killedAfterAStepCheckpointResumesMidEpochByteIdentical() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try writeConfig(folder)
        // The kill hit a running job in the middle of epoch 2, after a step checkpoint.
        let (reference, run, killedAt) = try runUninterruptedAndKilled(config: config, in: folder)
        #expect(killedAt.batchInEpoch < 36, "\(killedAt)")
        #expect(killedAt.step % 10 == 0)
        #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent("model.safetensors").path))
        let loggedBeforeResume = try metrics(run)
        #expect(loggedBeforeResume.count == 1, "epochs logged before the kill: \(loggedBeforeResume.count)")

        let resumed = try ChildProcess.flock(["train", config, "--run-dir", run.path, "--resume"])
        try #require(resumed.status == 0, "\(resumed.output)")
        #expect(resumed.standardOutput.contains("after epoch 1"), "\(resumed.standardOutput)")
        let model = try Data(contentsOf: run.appendingPathComponent("model.safetensors"))
        #expect(model == (try Data(contentsOf: reference.appendingPathComponent("model.safetensors"))), "final weights differ")
        let expected = try metrics(reference), actual = try metrics(run)
        #expect(actual.count == 3)
        for (epoch, (line, reference)) in zip(actual, expected).enumerated() {
            #expect(line.validation == reference.validation, "epoch \(epoch + 1)")
        }
        #expect(actual.first?.training == expected.first?.training)
        #expect(actual.last?.training == expected.last?.training)
        // The resumed epoch's training metrics cover all its batches: the checkpoint kept
        // the sums of the batches before it.
        #expect(actual[1].training == expected[1].training, "epoch 2 training metrics")
    }
}
