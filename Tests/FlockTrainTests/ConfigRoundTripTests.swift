import FlockNN
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// The resolved config (a run's `config.yaml`, a sweep trial's config) says what ran:
/// decoding what the encoder writes gives the same config, for generated configs that set
/// every field, every layer kind and every optional. `FLOCK_FUZZ_ITERATIONS` sets how
/// many (a short run by default), `FLOCK_FUZZ_SEED` which.
@Suite(.hangLimit) struct ConfigRoundTripTests {
    static var count: Int { MutationFuzzer.iterations(default: 400) }

    @Test func decodingTheEncodedConfigGivesItBack() throws {
        var generator = ConfigGenerator(seed: MutationFuzzer.seedFromEnvironment)
        for iteration in 0..<Self.count {
            let source = generator.config()
            let config: TrainingConfig
            do { config = try ConfigLoader.decode(yaml: source.yaml, baseDirectory: "/") } catch {
                Issue.record("generated config \(iteration) is not valid: \(error)\n\(source.yaml)")
                continue
            }
            let yaml = try ConfigLoader.yaml(of: config)
            let again = try ConfigLoader.decode(yaml: yaml, baseDirectory: "/")
            #expect(again == config, "config \(iteration): \(Self.differences(config, again).joined(separator: "; ")) lost in\n\(yaml)\nfrom \(source.yaml)")
            #expect(try ConfigLoader.yaml(of: again) == yaml, "config \(iteration): encoding again differs")
        }
    }

    /// The generator reaches every field the config types decode and every layer kind, and
    /// every field a layer's encoder writes: otherwise the property above skips them.
    @Test func generatedConfigsSetEveryField() throws {
        var generator = ConfigGenerator(seed: MutationFuzzer.seedFromEnvironment)
        var paths = Set<String>(), generatedLayerFields = Set<String>(), encodedLayerFields = Set<String>()
        for _ in 0..<Self.count {
            let source = generator.config()
            paths.formUnion(source.keyPaths().map { $0.replacingOccurrences(of: #"\[[0-9]+\]"#, with: "", options: .regularExpression) })
            generatedLayerFields.formUnion(Self.layerFields(try SafeYAML.load(source.yaml)))
            if let config = try? ConfigLoader.decode(yaml: source.yaml, baseDirectory: "/") {
                encodedLayerFields.formUnion(Self.layerFields(try SafeYAML.load(try ConfigLoader.yaml(of: config))))
            }
        }
        let sections: [(String, [String])] = [
            ("", TrainingConfig.CodingKeys.allCases.map(\.rawValue)),
            // Generated partners need a graph model, which the generator does not make:
            // GeneratedPartnersTests round-trips them.
            ("data", DataConfig.CodingKeys.allCases.map(\.rawValue).filter { !["pairs", "triplets"].contains($0) }),
            ("data.augment", AugmentConfig.CodingKeys.allCases.map(\.rawValue)),
            ("data.sequence", SequenceConfig.CodingKeys.allCases.map(\.rawValue)),
            ("loss", Array(LossTermConfig.sharedKeys) + ["label_smoothing", "class_weights", "from_logits", "delta", "gamma",
                                                          "teacher", "temperature", "alpha", "margin", "mining"]),
            ("optimizer", ["name", "lr", "weight_decay", "momentum", "beta1", "beta2", "epsilon", "alpha"]),
            ("schedule", ["name", "warmup_epochs", "step_size", "gamma", "min_lr"]),
            ("regularization", RegularizationConfig.CodingKeys.allCases.map(\.rawValue)),
            ("gradient_clipping", GradientClippingConfig.CodingKeys.allCases.map(\.rawValue)),
            ("parallel", ParallelConfig.CodingKeys.allCases.map(\.rawValue)),
            ("callbacks", CallbacksConfig.CodingKeys.allCases.map(\.rawValue)),
            ("callbacks.early_stopping", EarlyStopping.CodingKeys.allCases.map(\.rawValue)),
            ("callbacks.reduce_lr_on_plateau", ReduceLROnPlateau.CodingKeys.allCases.map(\.rawValue)),
            ("callbacks.model_checkpoint", ModelCheckpoint.CodingKeys.allCases.map(\.rawValue)),
            ("callbacks.terminate_on_nan", TerminateOnNaN.CodingKeys.allCases.map(\.rawValue)),
            ("init_from", InitFromConfig.CodingKeys.allCases.map(\.rawValue)),
            ("elastic", ElasticConfig.CodingKeys.allCases.map(\.rawValue)),
        ]
        for (prefix, keys) in sections {
            for key in keys {
                let path = prefix.isEmpty ? key : "\(prefix).\(key)"
                #expect(paths.contains(path), "no generated config sets \(path)")
            }
        }
        let kinds = Set(generatedLayerFields.map { String($0.split(separator: ".")[0]) })
        #expect(kinds == Set(ConfigGenerator.layerKinds.filter { !["flatten", "global_avg_pool", "stop_gradient"].contains($0) }))
        #expect(paths.isSuperset(of: ["model.type"]))
        let missed = encodedLayerFields.subtracting(generatedLayerFields)
        #expect(missed.isEmpty, "layer fields the encoder writes but no generated config sets: \(missed.sorted())")
    }

    /// `kind.field` for every field of every layer entry (at any depth) in a loaded YAML tree.
    static func layerFields(_ tree: Any?) -> Set<String> {
        switch tree {
        case let mapping as [String: Any]:
            var fields = Set(mapping.values.flatMap { layerFields($0) })
            if let kind = mapping["type"] as? String {
                fields.formUnion(mapping.keys.filter { !LayerConfig.sharedKeys.contains($0) }.map { "\(kind).\($0)" })
            }
            return fields
        case let list as [Any]:
            return Set(list.flatMap { layerFields($0) })
        default:
            return []
        }
    }

    /// Field paths whose values differ, found through reflection (for failure messages).
    static func differences(_ a: Any, _ b: Any, path: String = "") -> [String] {
        let left = Mirror(reflecting: a), right = Mirror(reflecting: b)
        guard !left.children.isEmpty, left.children.count == right.children.count else {
            return "\(a)" == "\(b)" ? [] : ["\(path): \(a) → \(b)"]
        }
        return zip(left.children, right.children).flatMap { l, r in
            differences(l.value, r.value, path: path + "." + (l.label ?? "?"))
        }
    }
}
