import FlockStore
import FlockTestSupport
import Foundation
import Testing
@testable import FlockReport

/// Reports made while a run writes, the read-only store, `--watch`, and bad targets.
@Suite struct LiveReportTests {
    @Test func aReportMadeAfterEachEpochShowsTheEpochsSoFarWhileTheRunKeepsWriting() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let store = folder.url.appendingPathComponent("flock.sqlite").path
        var seen: [String] = []
        try ReportFixtures.train(folder, name: "live", "epochs: 3\noptimizer: {name: sgd, lr: 0.1}") { record in
            // The store as a second reader sees it mid-run (the run writes the next epoch after this returns).
            let report = try Report.make(target: store)
            #expect(report.html.contains("data-tip=\"run live · epoch \(record.epoch) · val_loss"))
            seen.append(report.message.components(separatedBy: ")").first ?? "")
        }
        #expect(seen == ["run live (running, last epoch 1", "run live (running, last epoch 2", "run live (running, last epoch 3"], "\(seen)")
        #expect(try Report.make(target: store).message.hasPrefix("run live (completed, last epoch 3)"))
    }

    @Test func theReportsReadOnlySnapshotDoesNotBlockAWriter() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let path = folder.url.appendingPathComponent("flock.sqlite").path
        let writer = try ExperimentStore(path: path)
        try writer.startRun(RunRecord(id: "/r", name: "r", config: "{}", configHash: "0", worldSize: 1, host: "h", directory: "/r"))
        let reader = try ExperimentStore(path: path, readOnly: true)
        // A write committed while the reader holds an open read transaction: with WAL the
        // writer does not wait (without it, SQLite would refuse the commit as busy).
        let (before, after) = try reader.snapshot { db -> (Int, Int) in
            let before = try MetricRecord.fetchAll(db).count
            try writer.recordEpoch(runID: "/r", epoch: 1, metrics: ["loss": 1], best: ["loss": 1])
            return (before, try MetricRecord.fetchAll(db).count)
        }
        #expect(before == 0 && after == 0, "the snapshot stays as it was")
        #expect(try reader.metrics(runID: "/r").count == 1)
        #expect(throws: (any Error).self) { try reader.finishRun(id: "/r", status: .completed) }
    }

    @Test func watchRewritesTheReportWithAReloadTagEachPass() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let store = folder.url.appendingPathComponent("flock.sqlite").path
        _ = try ExperimentStore(path: store)
        let output = folder.url.appendingPathComponent("watched.html").path
        var passes: [Report.Kind] = []
        try ReportWatcher(target: store, study: nil, output: output, seconds: 0.05).run(passes: 2) { result in
            if case .success(let report) = result { passes.append(report.kind) }
        }
        #expect(passes == [.empty, .empty])
        let html = try String(contentsOfFile: output, encoding: .utf8)
        #expect(html.contains("<meta http-equiv=\"refresh\" content=\"1\">"))
        #expect(throws: ReportError.self) { try ReportWatcher(target: store, study: nil, output: output, seconds: 0) }
    }

    @Test func aMissingTargetOrStudyIsAnErrorNamingIt() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        #expect(throws: ReportError("\(folder.url.path)/nothing: no such run directory or experiment store")) {
            try Report.make(target: folder.url.appendingPathComponent("nothing").path)
        }
        let store = folder.url.appendingPathComponent("flock.sqlite").path
        _ = try ExperimentStore(path: store)
        #expect(throws: ReportError("\(store): no study 'missing' (the store has no studies)")) {
            try Report.make(target: store, study: "missing")
        }
        let outcome = try ChildProcess.flock(["report", folder.url.appendingPathComponent("nothing").path])
        #expect(outcome.status == 1 && outcome.standardError.contains("no such run directory or experiment store"), "\(outcome.output)")
    }
}
