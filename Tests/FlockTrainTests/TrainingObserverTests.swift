import FlockNN
import FlockParallel
import FlockStore
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Writes down every event it sees, in order; may end the run at an epoch.
final class EventLog: TrainingObserver {
    var events: [String] = []
    var rollbacks: [RollbackEvent] = []
    let endAtEpoch: Int?

    init(endAtEpoch: Int? = nil) { self.endAtEpoch = endAtEpoch }

    func trainingBegan(_ trainer: Trainer) { events.append("began \(trainer.completedEpochs)") }
    func batchEnded(_ progress: BatchProgress) { events.append("batch \(progress.epoch).\(progress.batchesDone)") }
    func epochEnded(_ record: EpochRecord) throws {
        events.append("epoch \(record.epoch)")
        if record.epoch == endAtEpoch { throw EndedByObserver() }
    }
    func checkpointWritten(_ folder: URL, state: TrainingState) { events.append("checkpoint \(folder.lastPathComponent)") }
    func rolledBack(_ rollback: RollbackEvent) {
        events.append("rollback")
        rollbacks.append(rollback)
    }
    func trainingEnded(_ outcome: Result<TrainingSummary, any Error>) {
        switch outcome {
        case .success(let summary): events.append("ended \(summary.epochsRun)")
        case .failure(let error): events.append("failed \(type(of: error))")
        }
    }
}

/// An observer's request to end a run, recorded as pruned.
struct EndedByObserver: RunEndingRequest {
    var status: RunRecord.Status { .pruned }
}

@Suite struct TrainingObserverTests {
    static func config(_ lines: String = "", epochs: Int = 2) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 1
            epochs: \(epochs)
            data: {source: \(DataParallelTests.digits), label_column: label, batch_size: 512}
            model: [{type: dense, units: 16, activation: relu}, {type: dense, units: 10}]
            \(lines)
            """, baseDirectory: "/")
    }

    @Test func anObserverSeesEveryEventInOrder() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try TrainingRun(config: try Self.config(), runDirectory: folder.url.appendingPathComponent("run").path)
        let log = EventLog()
        run.trainer.observers.append(log)
        _ = try run.run()
        let batches = run.trainer.stepsPerEpoch
        var expected = ["began 0"]
        for epoch in 1...2 {
            expected += (1...batches).map { "batch \(epoch).\($0)" } + ["epoch \(epoch)", String(format: "checkpoint epoch-%04d", epoch)]
        }
        #expect(log.events == expected + ["ended 2"])
    }

    @Test func aRollbackIsAnEvent() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try NonFiniteLossTests.config("{terminate_on_nan: {action: rollback, lr_factor: 0.000001, max_rollbacks: 3}}")
        let run = try TrainingRun(config: config, runDirectory: folder.url.appendingPathComponent("run").path)
        let log = EventLog()
        run.trainer.observers.append(log)
        _ = try run.run()
        #expect(log.rollbacks.map(\.rollbacks) == [1, 2])
        #expect(log.rollbacks.map(\.learningRateScale) == [0.000001, 0.000001 * 0.000001])
        #expect(log.rollbacks.allSatisfy { $0.error.epoch >= 2 && $0.maxRollbacks == 3 })
    }

    @Test func anObserverEndsTheRunAndTheStoreRecordsTheStatusItAsks() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let directory = folder.url.appendingPathComponent("run")
        let run = try TrainingRun(config: try Self.config(epochs: 5), runDirectory: directory.path)
        let log = EventLog(endAtEpoch: 2)
        run.trainer.observers.append(log)
        #expect(throws: EndedByObserver.self) { _ = try run.run() }
        #expect(log.events.suffix(2) == ["epoch 2", "failed EndedByObserver"], "no checkpoint after the epoch that ended it")
        let record = try #require(try run.store?.run(id: directory.standardizedFileURL.path))
        #expect(record.status == .pruned)
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("summary.json").path))
    }

    @Test func aConfiguredObserverThatIsNotAttachedIsAnError() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try TrainingRun(config: try Self.config("callbacks: {tensorboard: true}"),
                                  runDirectory: folder.url.appendingPathComponent("run").path)
        let error = #expect(throws: ConfigError.self) { _ = try run.run() }
        #expect(error?.description.contains("callbacks.tensorboard") == true, "\(String(describing: error))")
    }
}
