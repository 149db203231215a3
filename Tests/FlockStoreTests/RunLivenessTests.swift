import Foundation
import Testing
@testable import FlockStore

/// A run whose process is gone reads as `interrupted`, not `running` forever.
@Suite struct RunLivenessTests {
    func record(host: String = "here", pid: Int? = 42, started: Date = Date()) -> RunRecord {
        RunRecord(id: "/runs/a", name: "a", config: "", configHash: "0", worldSize: 1, host: host, directory: "/runs/a",
                  startedAt: started, pid: pid)
    }

    @Test func aRunningRunIsInterruptedWhenItsProcessIsGoneOrSilent() {
        let now = Date()
        #expect(record().liveStatus(now: now, host: "here", isAlive: { _ in true }) == .running)
        #expect(record().liveStatus(now: now, host: "here", isAlive: { _ in false }) == .interrupted)
        // On another host the process cannot be asked: its heartbeat decides.
        #expect(record(host: "elsewhere").liveStatus(now: now, host: "here", isAlive: { _ in false }) == .running)
        let silent = now.addingTimeInterval(RunRecord.heartbeatTimeout + 1)
        #expect(record(host: "elsewhere").liveStatus(now: silent, host: "here", isAlive: { _ in true }) == .interrupted)
        // A record from before heartbeats, and a finished run, keep their stored status.
        #expect(record(pid: nil).liveStatus(now: silent, host: "here", isAlive: { _ in false }) == .running)
        var finished = record()
        finished.status = .completed
        #expect(finished.liveStatus(now: silent, host: "here", isAlive: { _ in false }) == .completed)
    }

    @Test func processExistsTellsThisProcessFromAFinishedOne() throws {
        #expect(RunRecord.processExists(Int(ProcessInfo.processInfo.processIdentifier)))
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        #expect(!RunRecord.processExists(Int(child.processIdentifier)))
        #expect(!RunRecord.processExists(-1) && !RunRecord.processExists(Int.max))
    }

    @Test func heartbeatsAndAResumeUpdateTheSameRecord() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try ExperimentStore(path: folder.appendingPathComponent("flock.sqlite").path)
        let start = Date(timeIntervalSince1970: 1_000_000)
        try store.startRun(record(pid: 7, started: start))
        try store.runHeartbeat(id: "/runs/a", at: start.addingTimeInterval(30))
        var stored = try #require(try store.run(id: "/runs/a"))
        #expect(stored.pid == 7 && stored.heartbeat == start.addingTimeInterval(30))
        // The resumed process takes over the record.
        try store.startRun(record(pid: 8, started: start.addingTimeInterval(100)))
        stored = try #require(try store.run(id: "/runs/a"))
        #expect(stored.pid == 8 && stored.heartbeat == start.addingTimeInterval(100) && stored.startedAt == start)
        #expect(try store.runs().count == 1)
        // A finished run's heartbeat is left alone.
        try store.finishRun(id: "/runs/a", status: .completed)
        try store.runHeartbeat(id: "/runs/a", at: start.addingTimeInterval(500))
        #expect(try store.run(id: "/runs/a")?.heartbeat == start.addingTimeInterval(100))
    }
}
