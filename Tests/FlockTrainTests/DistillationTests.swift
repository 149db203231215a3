import Foundation
import FlockTestSupport
import Testing
@testable import FlockTrain

/// Knowledge distillation from a teacher checkpoint: the teacher's logits land on the
/// right training rows, the student trains on them, and the config names its fields.
@Suite struct DistillationTests {
    static func config(_ model: String, loss: String, epochs: Int) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 42
            epochs: \(epochs)
            data: {source: \(ChildProcess.digitsCSV), label_column: label, validation_split: 0.2, batch_size: 32}
            model: \(model)
            loss: \(loss)
            optimizer: {name: adam, lr: 0.003}
            """, baseDirectory: "/")
    }

    @Test func aStudentLearnsFromTheTeachersLogitsOnTheRightRows() throws {
        let runs = FileManager.default.temporaryDirectory.appendingPathComponent("distill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: runs) }
        let teacherConfig = try Self.config("[{type: dense, units: 64, activation: relu}, {type: dense, units: 10}]",
                                            loss: "cross_entropy", epochs: 8)
        let teacherRun = runs.appendingPathComponent("teacher").path
        _ = try TrainingRun(config: teacherConfig, runDirectory: teacherRun).run()

        let student = try Self.config("[{type: dense, units: 16, activation: relu}, {type: dense, units: 10}]",
                                      loss: "{name: distillation, teacher: \(teacherRun), temperature: 2, alpha: 0.7}", epochs: 4)
        let trainer = try Trainer(config: student)
        // Rows (label, 10 logits); the teacher, trained on these rows, agrees with nearly every label.
        let targets = trainer.data.training.targets
        #expect(targets.shape == [trainer.data.training.count, 11])
        let agreeing = (0..<targets.shape[0]).filter { row in
            let logits = Array(targets.scalars[(row * 11 + 1)..<(row * 11 + 11)])
            return Float(logits.indices.max { logits[$0] < logits[$1] }!) == targets.scalars[row * 11]
        }.count
        #expect(Double(agreeing) / Double(targets.shape[0]) > 0.95, "teacher agrees with \(agreeing) of \(targets.shape[0]) labels")
        #expect(trainer.data.validation.targets.rank == 1, "validation keeps plain labels")
        let summary = try trainer.fit()
        #expect(summary.final["val_accuracy"]! > 0.85, "student val_accuracy \(summary.final["val_accuracy"]!)")
    }

    @Test func distillationAndFocalFieldsAreChecked() throws {
        let dense = "[{type: dense, units: 10}]"
        #expect { _ = try Self.config(dense, loss: "{name: distillation}", epochs: 1) } throws: { error in
            "\(error)" == "loss.teacher: distillation needs the teacher's checkpoint (a run directory or checkpoint folder)"
        }
        #expect { _ = try Self.config(dense, loss: "{name: distillation, teacher: t, alpha: 1.5}", epochs: 1) } throws: { error in
            "\(error)" == "loss.alpha: expected a number in [0, 1], got 1.5"
        }
        #expect { _ = try Self.config(dense, loss: "{name: focal, temperature: 2}", epochs: 1) } throws: { error in
            "\(error)" == "loss.temperature: not a field of loss 'focal' (expected one of: gamma)"
        }
        let missing = try Self.config(dense, loss: "{name: distillation, teacher: /nonexistent/run}", epochs: 1)
        #expect { _ = try Trainer(config: missing) } throws: { error in
            "\(error)".hasPrefix("loss.teacher: cannot load the teacher from /nonexistent/run")
        }
        let focal = try Trainer(config: try Self.config("[{type: dense, units: 10}]", loss: "{name: focal, gamma: 2}", epochs: 5)).fit()
        #expect(focal.final["val_accuracy"]! > 0.85, "focal-loss val_accuracy \(focal.final["val_accuracy"]!)")
    }
}
