import FlockStore
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

@Suite struct StoreDuringTrainingTests {
    @Test func readersKeepReadingWhileTrainingWrites() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = folder.url.appendingPathComponent("run")
        let storePath = folder.url.appendingPathComponent("flock.sqlite").path
        let config = try folder.write("job.yaml", """
            epochs: 25
            data: {source: \(DataParallelTests.digits), label_column: label, batch_size: 64}
            model: [{type: dense, units: 16, activation: relu}, {type: dense, units: 10}]
            """)
        let process = Process()
        process.executableURL = ChildProcess.flockExecutable
        process.arguments = ["train", config.path, "--run-dir", run.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        // Poll from this process while the child writes epochs: every read succeeds and
        // sees a consistent, growing run.
        let deadline = Date().addingTimeInterval(120)
        var reads = 0, lastEpochs = 0
        var sawRunning = false
        while process.isRunning && Date() < deadline {
            if FileManager.default.fileExists(atPath: storePath) {
                let store = try ExperimentStore(path: storePath, readOnly: true)
                if let record = try store.runs().first {
                    #expect(record.epochsRun >= lastEpochs)
                    lastEpochs = record.epochsRun
                    sawRunning = sawRunning || record.status == .running
                    // Every stored epoch has its full set of metrics.
                    let metrics = try store.metrics(runID: record.id)
                    #expect(metrics.count == Set(metrics.map(\.epoch)).count * 4)
                    reads += 1
                }
            }
            usleep(5_000)
        }
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(reads > 5 && sawRunning)
        let final = try #require(try ExperimentStore(path: storePath).runs().first)
        #expect(final.status == .completed && final.epochsRun == 25)
    }
}
