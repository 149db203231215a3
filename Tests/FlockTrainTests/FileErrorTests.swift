import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

/// A failed write names the file and the system's reason. `/dev/full` stands in for a
/// full disk: every write to it fails with ENOSPC.
@Suite struct FileErrorTests {
    @Test func aFullDiskNamesTheFileAndSaysTheDiskIsFull() {
        let error = #expect(throws: FileWriter.Failure.self) { try FileWriter.write(Data("x".utf8), to: "/dev/full", sync: true) }
        #expect(error?.description == "/dev/full: cannot write: No space left on device (the disk or quota is full)")
    }

    @Test func metricsAndSummaryWritesNameTheirFileWhenTheDiskIsFull() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try RunDirectory(path: folder.url.appendingPathComponent("run").path)
        let metrics = run.url.appendingPathComponent("metrics.jsonl")
        try FileManager.default.createSymbolicLink(atPath: metrics.path, withDestinationPath: "/dev/full")
        let record = EpochRecord(epoch: 1, metrics: ["loss": 0.5], learningRate: 0.1, seconds: 1, samplesPerSecond: 10, best: [:])
        let appendError = #expect(throws: FileWriter.Failure.self) { try run.appendMetrics(record) }
        #expect(appendError?.description == "\(metrics.path): cannot write: No space left on device (the disk or quota is full)")

        // AtomicFile writes a temporary beside the file first: that is where the disk fills.
        let temporary = run.url.appendingPathComponent(".config.yaml.tmp-\(ProcessInfo.processInfo.processIdentifier)")
        try FileManager.default.createSymbolicLink(atPath: temporary.path, withDestinationPath: "/dev/full")
        let configError = #expect(throws: FileWriter.Failure.self) { try run.writeConfig("epochs: 1\n") }
        #expect(configError?.description.hasPrefix("\(temporary.path): cannot write: No space left on device") == true)
        #expect(!FileManager.default.fileExists(atPath: run.url.appendingPathComponent("config.yaml").path))
    }

    @Test func aFolderThatCannotBeCreatedIsNamed() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        // A file where a parent folder should be (root passes permission checks, not this).
        let blocker = try folder.write("blocker", "")
        let error = #expect(throws: FileWriter.Failure.self) {
            _ = try RunDirectory(path: blocker.appendingPathComponent("run").path)
        }
        #expect(error?.description.hasPrefix("\(blocker.path)/run/checkpoints: cannot create the folder:") == true, "\(String(describing: error))")
    }
}
