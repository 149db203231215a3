import Foundation
import Testing
@testable import FlockStore

@Suite struct ExperimentStoreTests {
    func temporaryStore() throws -> (ExperimentStore, URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        return (try ExperimentStore(path: folder.appendingPathComponent("flock.sqlite").path), folder)
    }

    @Test func aRunItsEpochsAndCheckpointsRoundTrip() throws {
        let (store, folder) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        try store.startRun(RunRecord(id: "/runs/a", name: "a", config: "seed: 1", configHash: "ff", worldSize: 2,
                                     host: "h", directory: "/runs/a"))
        try store.recordEpoch(runID: "/runs/a", epoch: 1, metrics: ["loss": 1.5, "val_loss": 1.2], best: ["val_loss": 1.2])
        try store.recordEpoch(runID: "/runs/a", epoch: 2, metrics: ["loss": 1.0, "val_loss": 1.3], best: ["val_loss": 1.2])
        try store.recordCheckpoint(CheckpointRecord(runID: "/runs/a", name: "epoch-0001", epoch: 1, step: 10, path: "/x/1"))
        try store.recordCheckpoint(CheckpointRecord(runID: "/runs/a", name: "epoch-0002", epoch: 2, step: 20, path: "/x/2"))
        try store.removeCheckpoints(runID: "/runs/a", keeping: ["epoch-0002"])
        try store.finishRun(id: "/runs/a", status: .completed)

        let run = try #require(try store.run(id: "/runs/a"))
        #expect(run.status == .completed && run.epochsRun == 2 && run.worldSize == 2 && run.finishedAt != nil)
        #expect(run.bestMetrics == ["val_loss": 1.2])
        #expect(try store.metrics(runID: "/runs/a").count == 4)
        #expect(try store.checkpoints(runID: "/runs/a").map(\.name) == ["epoch-0002"])
    }

    @Test func aResumedRunIsTheSameRecordRunningAgain() throws {
        let (store, folder) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        let record = RunRecord(id: "/runs/b", name: "b", config: "", configHash: "0", worldSize: 1, host: "h", directory: "/runs/b")
        try store.startRun(record)
        try store.recordEpoch(runID: "/runs/b", epoch: 1, metrics: ["loss": 2], best: ["loss": 2])
        try store.finishRun(id: "/runs/b", status: .failed, error: "killed")
        try store.startRun(record)
        // Epoch 1 logged again after the resume replaces the old row.
        try store.recordEpoch(runID: "/runs/b", epoch: 1, metrics: ["loss": 1.9], best: ["loss": 1.9])
        let runs = try store.runs()
        #expect(runs.count == 1 && runs[0].status == .running && runs[0].error == nil)
        #expect(try store.metrics(runID: "/runs/b").map(\.value) == [1.9])
    }

    @Test func theFileIsInWALMode() throws {
        let (store, folder) = try temporaryStore()
        defer { try? FileManager.default.removeItem(at: folder) }
        try store.startRun(RunRecord(id: "x", name: "x", config: "", configHash: "0", worldSize: 1, host: "h", directory: "x"))
        #expect(FileManager.default.fileExists(atPath: store.path + "-wal"))
    }

    @Test func twoProcessesWorthOfOpenersCreateOneSchema() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("flock.sqlite").path
        // Separate connections racing to create the same file, as sweep workers would.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<6 {
                group.addTask {
                    let store = try ExperimentStore(path: path)
                    try store.startRun(RunRecord(id: "r\(index)", name: "r", config: "", configHash: "0", worldSize: 1,
                                                 host: "h", directory: "r"))
                }
            }
            try await group.waitForAll()
        }
        #expect(try ExperimentStore(path: path, readOnly: true).runs().count == 6)
    }

    @Test func anUnopenableStoreNamesItsPath() {
        let error = #expect(throws: StoreError.self) { try ExperimentStore(path: "/proc/flock.sqlite") }
        #expect(error?.description.hasPrefix("experiment store /proc/flock.sqlite:") == true)
    }
}
