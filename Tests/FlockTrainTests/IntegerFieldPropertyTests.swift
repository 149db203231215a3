import FlockNN
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Property: every integer field of a training config at the edges of its range and of
/// the integer types gives either an error naming that field or a model that builds and
/// trains (a one-epoch run; for `epochs` itself one step, since `epochs:
/// 9223372036854775807` is a valid endless run) — never a trap (which would end this test
/// process), a hang or an allocation the machine cannot make.
@Suite(.hangLimit) struct IntegerFieldPropertyTests {
    static let edges = ["0", "-1", "1", "2", "3", "7", "1000", "65536", "2147483647", "2147483648", "4294967296",
                        "9007199254740993", "9223372036854775807", "-9223372036854775808", "1.5", "1e30"]

    /// How to set the field (`{}` is the value), the path its errors name, and the other
    /// overrides it needs.
    struct Field: CustomStringConvertible {
        let set: String
        let path: String
        var context: [String] = []
        var description: String { ([set] + context).joined(separator: " ") }
    }

    static func inside(_ parent: String, _ key: String, with fields: String = "", context: [String] = []) -> Field {
        Field(set: "\(parent)={\(fields.isEmpty ? "" : fields + ", ")\(key): {}}", path: "\(parent).\(key)", context: context)
    }

    static var fields: [Field] {
        let top = ["seed", "epochs", "data.batch_size", "data.eval_batch_size", "parallel.accumulate", "parallel.micro_batches", "parallel.pipeline",
                   "parallel.tensor"].map { Field(set: "\($0)={}", path: $0) }
        let sequence = ["model[0]={type: embedding, vocabulary: 6, dimensions: 4}", "data.sequence={tokens: true}"]
        return top + [
            inside("schedule", "step_size", with: "name: step"), inside("schedule", "warmup_epochs", with: "name: cosine"),
            inside("callbacks.early_stopping", "patience"), inside("callbacks.early_stopping", "start_from_epoch"),
            inside("callbacks.reduce_lr_on_plateau", "patience"), inside("callbacks.reduce_lr_on_plateau", "cooldown"),
            inside("callbacks.model_checkpoint", "save_best"), inside("callbacks.model_checkpoint", "every_n_steps"),
            inside("callbacks.terminate_on_nan", "max_rollbacks", with: "action: rollback"),
            inside("model[0]", "units", with: "type: dense"),
            inside("model[1]", "units", with: "type: dense", context: ["model[2]={type: dense, units: 2}"]),
        ]
    }

    @Test func everyIntegerFieldAtItsEdgesIsAnErrorNamingItOrTrainsAStep() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = try FloatNarrowingTests.tinyData(in: folder)
        let base = """
            epochs: 1
            data: {source: \(data.path), label_column: label, batch_size: 6, validation_split: 0.25}
            model: [{type: dense, units: 8, activation: relu}, {type: dropout, rate: 0.1}, {type: dense, units: 2}]
            """
        var trained = 0, refused = 0
        for field in Self.fields {
            for value in Self.edges {
                let overrides = field.context + [field.set.replacingOccurrences(of: "{}", with: value)]
                do {
                    let config = try ConfigLoader.decode(yaml: base, overrides: overrides, baseDirectory: "/")
                    let trainer = try Trainer(config: config)
                    if field.path == "epochs" {
                        // An endless run is valid: one step of it.
                        var accumulator = trainer.makeAccumulator()
                        _ = try trainer.step(batches: 0..<1, order: Array(0..<trainer.data.training.count), learningRate: 0.01,
                                             accumulator: &accumulator)
                    } else {
                        _ = try trainer.fit()
                    }
                    trained += 1
                } catch let error as ConfigError {
                    // Stages and slices the ranks cannot hold are an error about the layout.
                    let named = error.path == field.path || (field.path.hasPrefix("parallel.") && error.path == "parallel")
                    #expect(named, "\(field) = \(value): \(error)")
                    refused += 1
                } catch {
                    Issue.record("\(field) = \(value): not a field-path error: \(error)")
                }
            }
        }
        #expect(trained > 0 && refused > 0, "trained \(trained), refused \(refused)")
    }
}
