import FlockNN
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// `--resume` with more epochs (or other loggers) continues the run, as Keras'
/// `initial_epoch` and Lightning's larger `max_epochs` do; other changes are refused.
@Suite struct ResumeExtensionTests {
    func config(_ lines: String) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 2
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 128}
            model: [{type: dense, units: 16, activation: relu}, {type: dense, units: 10}]
            schedule: {name: cosine}
            \(lines)
            """, baseDirectory: "/")
    }

    @Test func moreEpochsContinueTheRunAndSaySo() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = folder.url.appendingPathComponent("run")
        _ = try TrainingRun(config: try config("epochs: 2"), runDirectory: run.path).run()
        let longer = try TrainingRun(config: try config("epochs: 3\ncallbacks: {csv_logger: true}"), runDirectory: run.path, resume: true)
        #expect(longer.resumeNotes.contains { $0.hasPrefix("epochs: checkpoint 2, this run 3: training continues to epoch 3; a cosine schedule is stretched") },
                "\(longer.resumeNotes)")
        #expect(longer.resumeNotes.contains("callbacks.csv_logger: checkpoint false, this run true: from now on"), "\(longer.resumeNotes)")
        let summary = try longer.run()
        #expect(summary.epochsRun == 3)
        let written = try ConfigLoader.decode(yaml: String(contentsOf: run.appendingPathComponent("config.yaml"), encoding: .utf8),
                                              baseDirectory: "/")
        #expect(written.epochs == 3 && written.callbacks.csvLogger, "config.yaml says what ran")
    }

    @Test func fewerEpochsThanTrainedAndOtherFieldsAreRefusedByName() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = folder.url.appendingPathComponent("run")
        _ = try TrainingRun(config: try config("epochs: 2"), runDirectory: run.path).run()
        let fewer = #expect(throws: ConfigError.self) { _ = try TrainingRun(config: try config("epochs: 1"), runDirectory: run.path, resume: true) }
        #expect(fewer?.description.hasPrefix("epochs: the checkpoint has trained 2 epochs") == true, "\(String(describing: fewer))")
        let other = #expect(throws: Checkpoint.LoadError.self) {
            _ = try TrainingRun(config: try config("epochs: 3\noptimizer: {name: adam, lr: 0.01}"), runDirectory: run.path, resume: true)
        }
        #expect(other?.description.contains("written by a different config: optimizer.lr: checkpoint 0.001, this run 0.01") == true,
                "\(String(describing: other))")
    }
}
