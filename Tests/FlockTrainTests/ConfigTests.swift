import FlockComm
import FlockNN
import FlockTestSupport
import Testing
@testable import FlockTrain

@Suite struct ConfigTests {
    let base = """
    seed: 3
    data: {source: data.csv, batch_size: 16}
    model:
      - {type: dense, units: 32, activation: relu}
      - {type: dropout, rate: 0.2}
      - {type: dense, units: 4}
    optimizer: {name: sgd, lr: 0.1}
    """

    func decode(_ yaml: String, _ overrides: [String] = []) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: yaml, overrides: overrides, baseDirectory: "/data")
    }

    func message(_ yaml: String, _ overrides: [String] = []) -> String? {
        do { _ = try decode(yaml, overrides); return nil } catch { return "\(error)" }
    }

    @Test func theDataSectionsClosedChoicesNameTheFieldAndListTheValues() throws {
        #expect(message(base, ["data.sampling=even"]) == "data.sampling: unknown value 'even' (expected one of: uniform, balanced)")
        #expect(message(base, ["data.normalization=zscore"])
                == "data.normalization: unknown value 'zscore' (expected one of: standard, minmax, none)")
        #expect(message(base, ["data.missing=drop"]) == "data.missing: unknown value 'drop' (expected one of: error, mean)")
        #expect(message(base, ["data.format=parquet"]) == "data.format: unknown value 'parquet' (expected one of: csv, idx)")
        #expect(message(base, ["data.target_normalization=minmax"])
                == "data.target_normalization: unknown value 'minmax' (expected one of: standard, none)")
        var config = try decode(base)
        try config.set("data.normalization", to: .string("minmax"))
        #expect(config.data.normalization == .minmax && config.data.resolvedFormat == .csv)
        #expect(throws: ConfigError.self) { try config.set("data.sampling", to: .string("even")) }
    }

    @Test func defaultsFillEverythingButDataAndModel() throws {
        let config = try decode(base)
        #expect(config.epochs == 10 && config.name == "run")
        #expect(config.loss.name == "cross_entropy")
        #expect(config.data.validationSplit == 0.2 && config.data.normalization == .standard)
        #expect(config.data.source == "/data/data.csv")
        #expect(config.resolvedMetrics == [.accuracy])
    }

    @Test func overridesReachNestedFieldsAndListEntries() throws {
        let config = try decode(base, ["epochs=6", "optimizer.lr=0.01", "model[0].units=64",
                                       "schedule.name=cosine", "metrics=[accuracy, f1]"])
        #expect(config.epochs == 6)
        #expect(config.optimizer.lr == 0.01)
        #expect((config.model[0].spec as? Dense.Spec)?.units == 64)
        #expect(config.schedule.name == "cosine")
        #expect(config.metrics == [.accuracy, .f1])
    }

    @Test func compressionIsNamedAndChecked() throws {
        #expect(try decode(base, ["parallel.compression=bf16"]).parallel.compression == .bf16)
        #expect(try decode(base).parallel.compression == WireCompression.none)
        #expect(message(base, ["parallel.compression=int8"])
                == "parallel.compression: unknown compression 'int8' (expected one of: none, bf16, fp16)")
        #expect(message(base, ["parallel.compression=fp16", "parallel.pipeline=2"])?
                    .hasPrefix("parallel.compression: compression applies to data-parallel gradients only") == true)
    }

    @Test func badOverridesSayWhy() {
        #expect(message(base, ["model[7].units=3"]) == "model[7].units: --set: index 7 is past the end of a list of 3")
        #expect(message(base, ["epochs"]) == "--set epochs: expected key.path=value")
    }

    @Test func numbersNearTheLimitsAreRangeErrorsNotOverflows() {
        #expect(message(base, ["epochs=9223372036854775807"]) == "epochs: expected an integer in 1...1000000, got 9223372036854775807")
        #expect(message(base, ["data.batch_size=4611686018427387904"])
                == "data.batch_size: expected an integer in 1...16777216, got 4611686018427387904")
        #expect(message(base, ["parallel.accumulate=9223372036854775807"])?.hasPrefix("parallel.accumulate: expected an integer in 1...1000000") == true)
        #expect(message(base, ["parallel.bucket_mb=1e300"]) == "parallel.bucket_mb: expected a number in (0, 1048576.0], got 1e+300")
        #expect(message(base, ["parallel.collective_timeout=.inf"]) == "parallel.collective_timeout: expected a number in (0, 864000.0], got inf")
        #expect(message(base, ["model[0].units=9223372036854775807"])
                == "model[0].units: expected an integer in 1...16777216, got 9223372036854775807")
        #expect(CollectiveDeadline.fromEnvironment(["FLOCK_COLLECTIVE_TIMEOUT": "inf"]) == CollectiveDeadline.defaultSeconds)
        #expect(CollectiveDeadline.fromEnvironment(["FLOCK_COLLECTIVE_TIMEOUT": "12"]) == 12)
    }

    @Test func negativeUnitsNameTheFieldPath() {
        #expect(message(base, ["model[2].units=-3"]) == "model[2].units: expected a positive integer, got -3")
    }

    @Test func unknownLayerTypeListsTheKnownOnes() {
        #expect(message(base, ["model[1].type=conv9d"])
                == "model[1].type: unknown layer type 'conv9d' (expected one of: dense, dropout, flatten, activation, sequential, residual, conv1d, conv2d, separable_conv2d, max_pool2d, avg_pool2d, global_avg_pool, batch_norm, layer_norm, group_norm, embedding, positional_encoding, multi_head_attention, transformer_encoder, transformer_decoder, sequence_pool, simple_rnn, lstm, gru, gaussian_noise, sampling, latent_noise, stop_gradient)")
    }

    @Test func unknownFieldIsAnErrorNotIgnored() {
        let text = message(base + "\nepoch: 5")
        #expect(text?.hasPrefix("epoch: unknown field (expected one of: name, seed, epochs") == true)
        #expect(message(base, ["model[0].unit=3"])?.hasPrefix("model[0].unit: not a field of a dense layer") == true)
    }

    @Test func typeMismatchNamesTheField() {
        #expect(message(base, ["optimizer.lr=fast"]) == "optimizer.lr: expected a number, got fast")
        #expect(message(base, ["data.batch_size=[1]"]) == "data.batch_size: expected a single value, not a list or mapping")
    }

    @Test func missingRequiredSections() {
        #expect(message("seed: 1\nmodel: []") == "data: required field is missing")
        #expect(message("data: {source: x.csv}\nmodel: []") == "model: expected at least one layer")
    }

    @Test func valueChecks() {
        #expect(message(base, ["model[1].rate=1.5"]) == "model[1].rate: expected a number in [0.0, 1.0), got 1.5")
        #expect(message(base, ["optimizer.name=adamax"])?.hasPrefix("optimizer.name: unknown optimizer 'adamax'") == true)
        #expect(message(base, ["loss=mse", "metrics=[accuracy]"])
                == "metrics[0]: 'accuracy' is a classification metric but loss 'mse' is not")
        #expect(message(base, ["metrics=[accuracy, f2]"])
                == "metrics[1]: unknown value 'f2' (expected one of: accuracy, precision, recall, f1, mse, rmse, mae, r2, auc)")
        #expect(message(base, ["model[0].rate=0.1"]) == "model[0].rate: not a field of a dense layer (expected one of: units, activation, alpha, initializer, use_bias)")
    }

    @Test func checkpointsMonitorTrainingLossWithoutAValidationSplit() throws {
        #expect(try decode(base).callbacks.modelCheckpoint?.monitor == "val_loss")
        #expect(try decode(base, ["data.validation_split=0"]).callbacks.modelCheckpoint?.monitor == "loss")
        // Written out, the choice is explicit: the resolved config decodes to the same.
        let resolved = try decode(base, ["data.validation_split=0"])
        #expect(try decode(try ConfigLoader.yaml(of: resolved)) == resolved)
        #expect(message(base, ["data.validation_split=0", "callbacks.model_checkpoint.monitor=val_loss"])
                == "callbacks.model_checkpoint.monitor: unknown metric 'val_loss' (expected one of: loss, accuracy)")
    }

    @Test func resolvedConfigRoundTrips() throws {
        let config = try decode(base, ["optimizer.momentum=0.9"])
        let again = try decode(try ConfigLoader.yaml(of: config))
        #expect(again == config)
    }
}
