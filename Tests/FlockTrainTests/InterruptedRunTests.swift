import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

/// A killed `flock train` shows as `interrupted` in `flock runs` (not `running` forever),
/// and `--resume` carries on in the same store record.
@Suite struct InterruptedRunTests {
    func runs(_ store: String) throws -> [[String: Any]] {
        let outcome = try ChildProcess.flock(["runs", "--store", store, "--json"], timeout: 60)
        #expect(outcome.status == 0, "\(outcome.output)")
        return try JSONSerialization.jsonObject(with: Data(outcome.standardOutput.utf8)) as? [[String: Any]] ?? []
    }

    @Test func aKilledRunIsInterruptedAndItsResumeContinuesTheRecord() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try folder.write("job.yaml", """
            epochs: 4
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 64}
            model: [{type: dense, units: 16, activation: relu}, {type: dense, units: 10}]
            """).path
        let run = folder.url.appendingPathComponent("run")
        let store = folder.url.appendingPathComponent("flock.sqlite").path
        let process = Process()
        process.executableURL = ChildProcess.faultRunnerExecutable
        // Slow checkpoint writes keep the job alive long enough to be killed after one.
        process.arguments = ["300", "train", config, "--run-dir", run.path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoints/last").path) && Date() < deadline {
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)

        let killed = try runs(store)
        #expect(killed.count == 1 && killed.first?["status"] as? String == "interrupted", "\(killed)")

        let resumed = try ChildProcess.flock(["train", config, "--run-dir", run.path, "--resume"], timeout: 120)
        #expect(resumed.status == 0, "\(resumed.output)")
        let after = try runs(store)
        #expect(after.count == 1 && after.first?["status"] as? String == "completed", "\(after)")
        #expect(after.first?["epochs_run"] as? Int == 4)
    }
}
