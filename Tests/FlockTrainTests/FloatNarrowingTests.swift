import FlockNN
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// A config number is checked as a Double but layers and optimizers hold it as a Float,
/// where it can round onto a bound (0.99999999999 is 1.0, 1e-50 is 0, 1e39 is infinite).
/// Property: every floating-point field of a training config, at the edges of its range
/// and of Float's, gives either an error naming that field or a model that builds and
/// trains a step — never a trap (which would end this test process).
@Suite(.hangLimit) struct FloatNarrowingTests {
    /// Edges of any range and of Float: zeros, subnormals, values that round to 0 or 1 or
    /// overflow as a Float, the neighbours of 1, the largest doubles.
    static let edges: [Double] = [
        0, -0.0, .leastNonzeroMagnitude, 1e-300, 1e-50, Double(Float.leastNonzeroMagnitude), Double(Float.leastNonzeroMagnitude) / 3,
        Double(Float.leastNormalMagnitude), 1e-8, 0.5, 0.99999999999, 0.999999999999, Double(Float(1).nextDown), 1.0.nextDown, 1, 1.0.nextUp,
        1.0000000001, 2, Double(Float.greatestFiniteMagnitude), Double(Float.greatestFiniteMagnitude).nextUp, 1e39,
        .greatestFiniteMagnitude, -1e-50, -1,
    ]

    /// One field: how to set it (`{}` stands for the value), the path its errors name, the
    /// context it needs, and the upper bound of its range when it has one of its own.
    struct Field: CustomStringConvertible {
        let set: String
        let path: String
        var context: [String] = []
        var bound: Double? = nil
        var description: String { ([set] + context).joined(separator: " ") }
    }

    /// `parent` set whole to `{<with>, key: value}`: errors name `parent.key`.
    static func inside(_ parent: String, _ key: String, with fields: String = "", bound: Double? = nil, context: [String] = []) -> Field {
        Field(set: "\(parent)={\(fields.isEmpty ? "" : fields + ", ")\(key): {}}", path: "\(parent).\(key)", context: context, bound: bound)
    }

    static var fields: [Field] {
        var fields: [Field] = []
        let ownFields = ["sgd": ["momentum"], "momentum": ["momentum"], "nesterov": ["momentum"], "adagrad": ["epsilon"],
                         "rmsprop": ["epsilon", "alpha"], "adam": ["beta1", "beta2", "epsilon"], "adamw": ["beta1", "beta2", "epsilon"]]
        for name in OptimizerRegistry.standard.names {
            for key in ["lr", "weight_decay"] + ownFields[name]! {
                fields.append(Field(set: "optimizer.\(key)={}", path: "optimizer.\(key)", context: ["optimizer.name=\(name)"]))
            }
        }
        fields += ["regularization.l1", "regularization.l2", "regularization.max_norm", "regularization.weight_noise",
                   "gradient_clipping.max_norm", "gradient_clipping.max_value", "data.validation_split"].map { Field(set: "\($0)={}", path: $0) }
        fields += [("parallel.bucket_mb", 1_048_576.0), ("parallel.collective_timeout", 864_000)].map { Field(set: "\($0.0)={}", path: $0.0, bound: $0.1) }
        fields.append(Field(set: "loss={name: cross_entropy, class_weights: [{}, 1]}", path: "loss.class_weights[0]"))
        let dense = "type: dense, units: 8"
        return fields + [
            inside("schedule", "gamma", with: "name: step"), inside("schedule", "gamma", with: "name: exponential"),
            inside("schedule", "min_lr", with: "name: cosine"),
            inside("loss", "label_smoothing", with: "name: cross_entropy"), inside("loss", "gamma", with: "name: focal", bound: 100),
            inside("loss", "delta", with: "name: huber", context: ["model[2]={type: dense, units: 1}"]),
            inside("data.augment", "noise"), inside("data.augment", "mixup"),
            inside("callbacks.early_stopping", "min_delta"), inside("callbacks.early_stopping", "baseline"),
            inside("callbacks.reduce_lr_on_plateau", "factor"), inside("callbacks.reduce_lr_on_plateau", "min_delta"),
            inside("callbacks.reduce_lr_on_plateau", "min_lr"), inside("callbacks.terminate_on_nan", "lr_factor"),
            inside("model[0]", "alpha", with: "\(dense), activation: leaky_relu"), inside("model[0]", "alpha", with: "\(dense), activation: elu"),
            inside("model[0]", "lr_multiplier", with: dense, bound: 1_000_000),
            inside("model[1]", "rate", with: "type: dropout"), inside("model[1]", "momentum", with: "type: batch_norm"),
            inside("model[1]", "epsilon", with: "type: batch_norm"), inside("model[1]", "epsilon", with: "type: layer_norm"),
            inside("model[1]", "stddev", with: "type: gaussian_noise"), inside("model[1]", "alpha", with: "type: activation, activation: leaky_relu"),
        ]
    }

    /// 8 rows of 4 features, 2 classes (6 train, 2 validate with `validation_split: 0.25`):
    /// enough for a model to train a step, small enough to try hundreds of configs.
    static func tinyData(in folder: TemporaryFolder) throws -> URL {
        let rows: [String] = (0..<8).map { (row: Int) -> String in
            let features: [String] = (0..<4).map { (column: Int) -> String in String(Double((row * 7 + column * 3) % 5) / 4) }
            return features.joined(separator: ",") + ",\(row % 2)"
        }
        return try folder.write("tiny.csv", (["a,b,c,d,label"] + rows).joined(separator: "\n") + "\n")
    }

    @Test func everyFloatFieldAtItsEdgesIsAnErrorNamingItOrTrains() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = try Self.tinyData(in: folder)
        let base = """
            epochs: 1
            data: {source: \(data.path), label_column: label, batch_size: 8, validation_split: 0.25}
            model: [{type: dense, units: 8, activation: relu}, {type: dropout, rate: 0.1}, {type: dense, units: 2}]
            callbacks: {model_checkpoint: false}
            """
        var trained = 0, refused = 0
        for field in Self.fields {
            let bounds = field.bound.map { [$0, $0.nextDown, $0.nextUp] } ?? []
            for value in Self.edges + bounds {
                let overrides = field.context + [field.set.replacingOccurrences(of: "{}", with: "\(value)")]
                let config: TrainingConfig
                do { config = try ConfigLoader.decode(yaml: base, overrides: overrides, baseDirectory: "/") } catch let error as ConfigError {
                    #expect(error.path == field.path, "\(field) = \(value): \(error)")
                    refused += 1
                    continue
                }
                do {
                    let trainer = try Trainer(config: config)
                    _ = try trainer.fit()
                    trained += 1
                } catch is NonFiniteLossError {
                    trained += 1  // stopped cleanly after a step that overflowed
                } catch let error as ConfigError {
                    #expect(error.path == field.path, "\(field) = \(value): \(error)")  // found once the data is read
                    refused += 1
                } catch {
                    Issue.record("\(field) = \(value): accepted, then \(error)")
                }
            }
        }
        #expect(trained > 0 && refused > 0)
    }

    /// The values the issue confirmed as traps, each now an error that names its field.
    @Test func valuesThatRoundOntoABoundAsFloatsAreErrors() throws {
        let base = """
            data: {source: data.csv}
            model: [{type: dense, units: 8}, {type: dropout, rate: 0.5}, {type: dense, units: 2}]
            """
        func message(_ overrides: [String]) -> String? {
            do { _ = try ConfigLoader.decode(yaml: base, overrides: overrides, baseDirectory: "/data"); return nil } catch { return "\(error)" }
        }
        #expect(message(["optimizer.beta1=0.99999999999"])
                == "optimizer.beta1: expected a number in [0.0, 1.0), got 0.99999999999, which is 1.0 as a 32-bit float")
        #expect(message(["optimizer.beta2=0.999999999999"])
                == "optimizer.beta2: expected a number in [0.0, 1.0), got 0.999999999999, which is 1.0 as a 32-bit float")
        #expect(message(["optimizer={name: rmsprop, alpha: 0.99999999999}"])
                == "optimizer.alpha: expected a number in [0.0, 1.0), got 0.99999999999, which is 1.0 as a 32-bit float")
        #expect(message(["optimizer={name: nesterov, momentum: 1e-50}"])
                == "optimizer.momentum: nesterov needs momentum > 0, got 1e-50, which is 0.0 as a 32-bit float")
        #expect(message(["regularization.max_norm=1e-50"])
                == "regularization.max_norm: expected a positive number, got 1e-50, which is 0.0 as a 32-bit float")
        #expect(message(["model[1].rate=0.99999999999"])
                == "model[1].rate: expected a number in [0.0, 1.0), got 0.99999999999, which is 1.0 as a 32-bit float")
    }
}
