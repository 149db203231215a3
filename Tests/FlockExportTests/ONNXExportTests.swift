import FlockTestSupport
import Foundation
import Testing
@testable import FlockExport
@testable import FlockTrain

/// `flock export --onnx` checked by the real ONNX tools: each example config trained
/// briefly on a slice of its data, exported from its run directory, checked by
/// `onnx.checker`, and run by ONNX Runtime on raw CSV rows it has not seen — which must
/// give what `Predictor` (the code behind `flock predict`) gives, to 1e-5.
@Suite(.serialized) struct ONNXExportTests {
    static let python = PipEnvironment(name: "onnx-venv", packages: ["onnxruntime", "onnx", "numpy"], check: "import onnxruntime, onnx, numpy")
    static let script = ChildProcess.repositoryRoot.appendingPathComponent("Tests/FlockExportTests/onnx_predict.py")

    /// A config (`examples/<name>.yaml`, or `yaml` written for the test), the overrides that
    /// make it quick, and whether its rows get a missing cell (so that the run imputes).
    struct Example: CustomTestStringConvertible, Sendable {
        let name: String
        var yaml: String? = nil
        var overrides: [String] = []
        var missingCell = false
        var testDescription: String { name }
    }

    static let examples = [
        Example(name: "digits-mlp", overrides: ["data.missing=mean"], missingCell: true),
        Example(name: "digits-cnn", overrides: ["data.missing=mean"], missingCell: true),
        Example(name: "digits-resnet"),
        Example(name: "sequence-lstm"),
        Example(name: "transformer-tiny"),
    ]

    /// Every other layer kind that exports, in small models on the same data.
    static let layerKinds = [
        Example(name: "activations", yaml: """
            data: {source: \(data("digits")), label_column: label, normalization: minmax, batch_size: 32}
            model:
              - {type: dense, units: 24, activation: leaky_relu, alpha: 0.2}
              - {type: dense, units: 24, activation: elu}
              - {type: dense, units: 24, activation: swish}
              - {type: dense, units: 24, activation: gelu, recompute: true}
              - {type: sampling, kl_weight: 0}    # with a KL term a layer list's validation traps (Tensor.scalar, TrainStep.swift:71)
              - {type: stop_gradient}
              - {type: dense, units: 24}
              - {type: gaussian_noise, stddev: 0.1}
              - {type: activation, activation: tanh}
              - {type: dense, units: 24, activation: softmax}
              - {type: layer_norm}
              - {type: dense, units: 16, activation: sigmoid}
              - {type: dense, units: 10}
            """),
        Example(name: "convolutions", yaml: """
            data: {source: \(data("digits")), label_column: label, shape: [1, 8, 8], normalization: standard, batch_size: 32}
            model:
              - {type: conv2d, filters: 8, kernel: 3, padding: same, activation: gelu}
              - {type: group_norm, groups: 2}
              - {type: separable_conv2d, filters: 8, kernel: 3, activation: relu}
              - {type: conv2d, filters: 8, kernel: 3, stride: 2, padding: valid, groups: 2}
              - {type: avg_pool2d, pool: 2, stride: 1, padding: same}
              - {type: max_pool2d, pool: 2, stride: 2, padding: same}
              - {type: layer_norm, axes: all}
              - type: residual
                block:
                  - {type: conv2d, filters: 12, kernel: 1, activation: tanh}
              - {type: flatten}
              - {type: batch_norm}
              - {type: dense, units: 10}
            """),
        Example(name: "recurrent", yaml: """
            data: {source: \(data("digits")), label_column: label, sequence: {steps: 8, features: 8}, normalization: standard, batch_size: 32}
            model:
              - {type: conv1d, filters: 8, kernel: 2, dilation: 2, padding: causal, activation: tanh}
              - {type: conv1d, filters: 6, kernel: 3, stride: 2, groups: 2, padding: same}
              - {type: conv1d, filters: 8, kernel: 2, dilation: 2, stride: 3, groups: 2, padding: causal}
              - {type: gru, units: 12, return_sequences: true}
              - {type: lstm, units: 12, return_sequences: true}
              - {type: simple_rnn, units: 16, return_sequences: true}
              - {type: multi_head_attention, heads: 2, causal: true}
              - {type: transformer_encoder, heads: 4, mlp_units: 16, causal: true, activation: swish}
              - {type: sequence_pool, mode: first}
              - {type: dense, units: 10}
            """),
        Example(name: "padded-tokens", yaml: """
            data: {source: \(data("token-order")), label_column: a_before_b, sequence: {steps: 16, tokens: 12}, batch_size: 32}
            model:
              - {type: embedding, vocabulary: 12, units: 16, padding_id: 3}
              - {type: positional_encoding, kind: learned}
              - {type: transformer_encoder, heads: 2, mlp_units: 32}
              - {type: sequence_pool, mode: mean}
              - {type: dense, units: 2}
            """),
        Example(name: "binary-bag", yaml: """
            data: {source: \(data("token-order")), label_column: a_before_b, sequence: {steps: 16, tokens: 12}, batch_size: 32}
            model:
              - {type: embedding, vocabulary: 12, units: 8}
              - {type: sequence_pool, mode: last}
              - {type: dense, units: 1}
            loss: {name: binary_cross_entropy}
            metrics: [accuracy]
            """),
        Example(name: "graph", yaml: """
            data: {source: \(data("digits")), label_column: label, normalization: standard, batch_size: 32}
            model:
              inputs: [{name: top, shape: [32]}, {name: bottom, shape: [4, 8]}]
              nodes:
                - {name: a, inputs: [top], layers: [{type: dense, units: 16, activation: relu}]}
                - {name: flat, inputs: [bottom], layers: [{type: flatten}]}
                - {name: b, inputs: [flat], shares: a}
                - {name: sum, inputs: [a, b], op: add}
                - {name: product, inputs: [a, b], op: multiply}
                - {name: dot, inputs: [a, b], op: dot}
                - {name: euclidean, inputs: [a, b], op: euclidean_distance}
                - {name: cosine, inputs: [a, b], op: cosine_distance}
                - {name: both, inputs: [sum, product, dot, euclidean, cosine], op: concatenate, layers: [{type: dense, units: 10}]}
              outputs: [both]
            """),
    ]

    static func data(_ name: String) -> String {
        ChildProcess.repositoryRoot.appendingPathComponent("examples/data/\(name).csv").path
    }

    @Test(.enabled(if: python.canReachPyPI, "skipped: pip cannot reach PyPI to install onnxruntime"), .hangLimit,
          arguments: examples + layerKinds)
    func onnxRuntimeGivesWhatPredictGives(_ example: Example) throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (run, rows) = try Self.train(example, in: folder)
        let model = folder.url.appendingPathComponent("model.onnx")
        let export = try ChildProcess.flock(["export", run.path, "--onnx", model.path])
        try #require(export.status == 0, "\(export.output)")

        let predictor = try Predictor(path: run.path)
        let predicted = try predictor.predict(csv: rows.path)
        let expected = try #require(predicted.probabilities, "a classifier's predictions have probabilities")
        let read = try Self.runtime(model, rows)
        Self.expectEqual(read.outputs, expected.map { $0.map(Double.init) }, tolerance: { _ in 1e-5 }, label: example.name)
        #expect(read.irVersion == 8 && read.opsets == [17])
        #expect(read.input == "features" && read.output == "probabilities")
        #expect(read.initializerTypes.isSubset(of: ["FLOAT", "INT64"]), "\(read.initializerTypes)")
        let names = try JSONDecoder().decode([String].self, from: Data(try #require(read.metadata["class_names"]).utf8))
        #expect(names == predictor.classNames)
    }

    /// The diabetes regression: targets standardized for training, so the graph must undo
    /// it; predictions in the target's units sit near the targets' mean (about 152), where
    /// standardized ones would sit near 0.
    @Test(.enabled(if: python.canReachPyPI, "skipped: pip cannot reach PyPI to install onnxruntime"), .hangLimit)
    func aRegressionModelPredictsInTheDataUnits() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (run, rows) = try Self.train(Example(name: "diabetes-regression", overrides: ["epochs=30", "data.missing=mean"],
                                                 missingCell: true), in: folder)
        let model = folder.url.appendingPathComponent("diabetes.onnx")
        try Predictor(path: run.path).exportONNX(to: model)
        let read = try Self.runtime(model, rows)
        let predictor = try Predictor(path: run.path)
        let predicted = try predictor.predict(csv: rows.path).outputs.scalars
        #expect(read.output == "predictions")
        Self.expectEqual(read.outputs, predicted.map { [Double($0)] }, tolerance: { 1e-5 * max(1, abs($0)) }, label: "diabetes-regression")
        let mean = read.outputs.map { $0[0] }.reduce(0, +) / Double(read.outputs.count)
        #expect(mean > 60 && mean < 300, "mean prediction \(mean): not in the target's units (25…346)")
    }

    /// A Siamese model on generated pairs takes rows of [anchor | partner] (the partner's
    /// columns named `right.p0`, …): ONNX Runtime gives the distances `flock predict` gives
    /// for the same rows with `--input right=FILE`.
    @Test(.enabled(if: python.canReachPyPI, "skipped: pip cannot reach PyPI to install onnxruntime"), .hangLimit)
    func aModelOnGeneratedPairsTakesAnchorAndPartnerRows() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try ConfigLoader.load(path: ChildProcess.repositoryRoot.appendingPathComponent("examples/siamese-pairs-digits.yaml").path,
                                           overrides: ["epochs=2"])
        let run = folder.url.appendingPathComponent("pairs")
        _ = try TrainingRun(config: config, runDirectory: run.path, storePath: folder.url.appendingPathComponent("flock.sqlite").path).run()
        let model = folder.url.appendingPathComponent("pairs.onnx")
        let predictor = try Predictor(path: run.path)
        try predictor.exportONNX(to: model)
        let lines = try String(contentsOfFile: Self.data("digits-789"), encoding: .utf8).split(whereSeparator: \.isNewline).map(String.init)
        let pixels = lines[1...41].map { $0.split(separator: ",").dropLast().joined(separator: ",") }
        let anchors = try folder.write("anchors.csv", ([lines[0]] + lines[1...40]).joined(separator: "\n") + "\n")
        let partners = try folder.write("partners.csv", ([lines[0]] + lines[2...41]).joined(separator: "\n") + "\n")
        let columns = try #require(predictor.preprocessing.featureColumns)
        #expect(columns.count == 128 && columns[64] == "right.p0")
        let rows = try folder.write("rows.csv", ([columns.joined(separator: ",")] + (0..<40).map { pixels[$0] + "," + pixels[$0 + 1] })
            .joined(separator: "\n") + "\n")
        let read = try Self.runtime(model, rows)
        let predicted = try predictor.predict(csv: anchors.path, inputFiles: ["right": partners.path]).outputs.scalars
        Self.expectEqual(read.outputs, predicted.map { [Double($0)] }, tolerance: { 1e-5 * max(1, abs($0)) }, label: "siamese-pairs")
        #expect(predicted.contains { $0 > 1 }, "the pairs are apart: \(predicted.prefix(5))")
    }

    /// A model trained with bf16 matrix products (this CPU has AVX512-BF16; elsewhere
    /// `auto` falls back to Float32 and the run says so) keeps Float32 master weights:
    /// the graph's weights are FLOAT and give what `flock predict` gives.
    @Test(.enabled(if: python.canReachPyPI, "skipped: pip cannot reach PyPI to install onnxruntime"), .hangLimit)
    func aBF16TrainedModelExportsFloat32Weights() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let (run, rows) = try Self.train(Example(name: "digits-mlp", overrides: ["precision=auto"]), in: folder)
        let summary = try JSONDecoder().decode(TrainingSummary.self, from: Data(contentsOf: run.appendingPathComponent("summary.json")))
        let used = try #require(summary.precision?.used)
        print("digits-mlp with precision auto trained with \(used) matrix products")
        let model = folder.url.appendingPathComponent("bf16.onnx")
        try Predictor(path: run.path).exportONNX(to: model)
        let read = try Self.runtime(model, rows)
        #expect(read.initializerTypes == ["FLOAT"], "\(read.initializerTypes) (trained with \(used))")
        let predicted = try #require(try Predictor(path: run.path).predict(csv: rows.path).probabilities)
        Self.expectEqual(read.outputs, predicted.map { $0.map(Double.init) }, tolerance: { _ in 1e-5 }, label: "bf16 digits-mlp")
    }

    /// A layer with no ONNX counterpart (random draws at inference): `flock export` names
    /// it, exits non-zero and leaves no file, not even a temporary one; inside a block the
    /// error gives its path in the block.
    @Test(.hangLimit)
    func aLayerWithoutAnEquivalentIsNamedAndNothingIsWritten() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let run = try Self.trainDigits(folder, name: "noisy", """
              - {type: dense, units: 8, activation: relu}
              - {type: latent_noise, units: 4}
              - {type: dense, units: 10}
            """)
        let exports = folder.url.appendingPathComponent("exports")
        try FileManager.default.createDirectory(at: exports, withIntermediateDirectories: true)
        let outcome = try ChildProcess.flock(["export", run.path, "--onnx", exports.appendingPathComponent("noisy.onnx").path])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("layer layers.1 (latent_noise) has no ONNX equivalent"), "\(outcome.output)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: exports.path) == [])
        let nowhere = folder.url.appendingPathComponent("missing/noisy.onnx")
        #expect(throws: ONNXExportError.unwritable(path: nowhere.path, reason: "no folder \(nowhere.deletingLastPathComponent().path)")) {
            try Predictor(path: run.path).exportONNX(to: nowhere)
        }

        let nested = try Self.trainDigits(folder, name: "nested", """
              - {type: dense, units: 8, activation: relu}
              - type: residual
                block: [{type: dense, units: 8}, {type: latent_noise, units: 8}]
              - {type: dense, units: 10}
            """)
        #expect(throws: ONNXExportError.unsupportedLayer(path: "layers.1.block.1", kind: "latent_noise")) {
            try Predictor(path: nested.path).exportONNX(to: exports.appendingPathComponent("nested.onnx"))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: exports.path) == [])
    }

    // MARK: - Helpers

    /// Trains the example for one epoch (unless overridden) on its data file's first 160
    /// rows; returns the run directory and a CSV of the next 40 rows (with `missingCell`,
    /// the third cell of a training row and of the second row to predict blanked).
    static func train(_ example: Example, in folder: TemporaryFolder) throws -> (URL, URL) {
        let name = example.name
        let path = try example.yaml.map { try folder.write("\(name).yaml", "name: \(name)\nseed: 5\nepochs: 1\n\($0)").path }
            ?? ChildProcess.repositoryRoot.appendingPathComponent("examples/\(name).yaml").path
        let source = try ConfigLoader.load(path: path).data.source
        let lines = try String(contentsOfFile: source, encoding: .utf8).split(whereSeparator: \.isNewline).map(String.init)
        var (train, held) = (Array(lines[1...160]), Array(lines[161...200]))
        if example.missingCell {
            // A missing cell in the training rows makes the run fit imputation; one in the rows to predict uses it.
            train[4] = blankingThirdCell(train[4])
            held[1] = blankingThirdCell(held[1])
        }
        let training = try folder.write("\(name)-train.csv", ([lines[0]] + train).joined(separator: "\n") + "\n")
        let rows = try folder.write("\(name)-rows.csv", ([lines[0]] + held).joined(separator: "\n") + "\n")
        let config = try ConfigLoader.load(path: path, overrides: ["epochs=1", "data.source=\(training.path)"] + example.overrides)
        let run = folder.url.appendingPathComponent(name)
        _ = try TrainingRun(config: config, runDirectory: run.path, storePath: folder.url.appendingPathComponent("flock.sqlite").path).run()
        return (run, rows)
    }

    /// ONNX Runtime's rows equal flock's within `tolerance(flock's value)`; one issue
    /// naming the largest excess and its row. Prints the largest absolute difference.
    static func expectEqual(_ onnx: [[Double]], _ flock: [[Double]], tolerance: (Double) -> Double, label: String = "",
                            sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(onnx.map(\.count) == flock.map(\.count), "shapes", sourceLocation: sourceLocation)
        var worst = (excess: 0.0, row: 0, onnx: [Double](), flock: [Double]()), largest = 0.0
        for (row, (a, b)) in zip(onnx, flock).enumerated() {
            for (x, y) in zip(a, b) {
                largest = max(largest, x.isNaN ? .infinity : abs(x - y))
                if x.isNaN || abs(x - y) - tolerance(y) > worst.excess {
                    worst = (x.isNaN ? .infinity : abs(x - y) - tolerance(y), row, a, b)
                }
            }
        }
        print("\(label): largest difference between ONNX Runtime and flock \(largest)")
        #expect(worst.excess == 0, "row \(worst.row): ONNX Runtime \(worst.onnx) vs flock \(worst.flock)", sourceLocation: sourceLocation)
    }

    /// A run of one epoch on the digits with `layers` (YAML list items) as its model.
    static func trainDigits(_ folder: TemporaryFolder, name: String, _ layers: String) throws -> URL {
        let config = try ConfigLoader.decode(yaml: """
            name: \(name)
            seed: 1
            epochs: 1
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 64}
            model:
            \(layers)
            """, baseDirectory: "/")
        let run = folder.url.appendingPathComponent(name)
        _ = try TrainingRun(config: config, runDirectory: run.path, storePath: folder.url.appendingPathComponent("flock.sqlite").path).run()
        return run
    }

    static func blankingThirdCell(_ line: String) -> String {
        var cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        cells[2] = ""
        return cells.joined(separator: ",")
    }

    struct RuntimeOutput: Decodable {
        /// null where ONNX Runtime gave NaN.
        let rawOutputs: [[Double?]]
        var outputs: [[Double]] { rawOutputs.map { $0.map { $0 ?? .nan } } }
        let metadata: [String: String]
        let irVersion: Int
        let opsets: [Int]
        let input: String, output: String
        let initializerTypes: Set<String>

        enum CodingKeys: String, CodingKey {
            case metadata, opsets, input, output
            case rawOutputs = "outputs"
            case irVersion = "ir_version"
            case initializerTypes = "initializer_types"
        }
    }

    /// ONNX Runtime's first output for `rows`, after `onnx.checker.check_model(full_check=True)`.
    static func runtime(_ model: URL, _ rows: URL) throws -> RuntimeOutput {
        let outcome = try ChildProcess.run(try python.executable(), [script.path, model.path, rows.path], timeout: 120)
        try #require(outcome.status == 0, "\(outcome.output)")
        return try JSONDecoder().decode(RuntimeOutput.self, from: Data(outcome.standardOutput.utf8))
    }
}
