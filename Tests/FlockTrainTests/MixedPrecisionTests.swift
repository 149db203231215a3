import FlockNN
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// `precision:`: bf16 products with Float32 master weights, chosen at start-up, kept by a
/// resume, refused (or passed over by `auto`) where the CPU has no native bf16.
@Suite(.serialized) struct MixedPrecisionTests {
    static let native = OneDNN.hasNativeBF16
    let digits = ChildProcess.repositoryRoot.appendingPathComponent("examples/digits-mlp.yaml").path

    /// Small and fast: every hidden product is ≥ 16 columns wide, so it runs in bf16.
    func smallConfig(_ precision: String, epochs: Int = 4) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 5
            epochs: \(epochs)
            precision: \(precision)
            data: {source: \(ChildProcess.digitsCSV), label_column: label, batch_size: 32}
            model:
              - {type: dense, units: 64, activation: relu}
              - {type: dense, units: 32, activation: relu}
              - {type: dense, units: 10}
            optimizer: {name: adam, lr: 0.002}
            callbacks: {model_checkpoint: {save_best: 1}}
            """, baseDirectory: "/")
    }

    @Test func anUnknownPrecisionListsTheChoices() throws {
        #expect(throws: ConfigError.self) { try smallConfig("fp16") }
        do { _ = try smallConfig("fp16") } catch {
            #expect("\(error)" == "precision: unknown value 'fp16' (expected one of: float32, bf16, auto)")
        }
        #expect(try smallConfig("float32").precision == .float32)
        var config = try smallConfig("float32")
        try config.set("precision", to: .string("auto"))
        #expect(config.precision == .auto)
    }

    @Test(.enabled(if: native, "needs AVX512-BF16 or AMX"))
    func digitsMLPInBF16EndsWithinHalfAPointOfFloat32() throws {
        func run(_ precision: String) throws -> (TrainingSummary, [Float]) {
            let trainer = try Trainer(config: try ConfigLoader.load(path: digits, overrides: ["epochs=15", "precision=\(precision)"]))
            return (try trainer.fit(), trainer.parameters.snapshotParameters())
        }
        let (exact, exactWeights) = try run("float32"), (mixed, mixedWeights) = try run("bf16")
        #expect(exact.precision?.used == .float32 && mixed.precision?.used == .bf16)
        #expect(mixedWeights != exactWeights, "bf16 trained exactly as Float32: its products did not run in bf16")
        let (a, b) = (exact.final["val_accuracy"]!, mixed.final["val_accuracy"]!)
        #expect(abs(a - b) <= 0.005, "val_accuracy Float32 \(a), bf16 \(b)")
        #expect(b >= 0.95)
    }

    /// The checkpoint holds the Float32 master weights exactly (not bf16-rounded ones),
    /// and says it was trained in bf16.
    @Test(.enabled(if: native, "needs AVX512-BF16 or AMX"))
    func checkpointsKeepFloat32MasterWeights() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let trainer = try Trainer(config: try smallConfig("bf16", epochs: 1))
        trainer.checkpointFolder = folder.url
        _ = try trainer.fit()
        let last = folder.url.appendingPathComponent("last")
        let checkpoint = try Checkpoint.load(last)
        #expect(checkpoint.state.precision == .bf16)
        let header = try String(decoding: Data(contentsOf: last.appendingPathComponent("model.safetensors")).prefix(400), as: UTF8.self)
        #expect(header.contains("\"F32\"") && !header.contains("BF16"))
        let model = try checkpoint.model
        let saved = trainer.parameters.slots.flatMap { model[$0.name]!.scalars }
        let live = trainer.parameters.snapshotParameters()
        #expect(saved == live)
        #expect(saved.contains { $0 != BF16.rounded($0) }, "the saved weights are bf16 values")
    }

    /// A bf16 run stopped after 2 epochs and resumed under `auto` ends bit-for-bit where
    /// the uninterrupted run does; a Float32 checkpoint resumed under `auto` (which would
    /// pick bf16 here) stays Float32; a config naming another precision is refused.
    @Test(.enabled(if: native, "needs AVX512-BF16 or AMX"))
    func resumeKeepsThePrecisionItStartedWith() throws {
        struct Stop: Error {}
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let whole = try Trainer(config: try smallConfig("bf16"))
        _ = try whole.fit()
        func stoppedAfterTwoEpochs(_ precision: String, in name: String) throws -> URL {
            let trainer = try Trainer(config: try smallConfig(precision))
            trainer.checkpointFolder = folder.url.appendingPathComponent(name)
            #expect(throws: Stop.self) { _ = try trainer.fit { if $0.epoch == 3 { throw Stop() } } }
            return folder.url.appendingPathComponent("\(name)/last")
        }
        let bf16Checkpoint = try stoppedAfterTwoEpochs("bf16", in: "bf16")
        let resumed = try Trainer(config: try smallConfig("auto"))
        try resumed.resume(from: try Checkpoint.load(bf16Checkpoint))
        #expect(resumed.precision.used == .bf16)
        _ = try resumed.fit()
        #expect(resumed.parameters.snapshotParameters() == whole.parameters.snapshotParameters())

        let float32Checkpoint = try stoppedAfterTwoEpochs("float32", in: "float32")
        let kept = try Trainer(config: try smallConfig("auto"))
        #expect(kept.precision.used == .bf16)
        try kept.resume(from: try Checkpoint.load(float32Checkpoint))
        #expect(kept.precision.used == .float32 && kept.parameters.matrixProducts.precision == .float32)

        let explicit = try Trainer(config: try smallConfig("float32"))
        #expect { try explicit.resume(from: try Checkpoint.load(bf16Checkpoint)) } throws: { error in
            "\(error)".contains("precision: the checkpoint was trained in bf16 but this run is configured for float32")
        }
    }

    /// `ONEDNN_MAX_CPU_ISA=AVX512_CORE` stands for a CPU without bf16: `auto` trains in
    /// Float32 and says why; `bf16` is an error naming the field.
    @Test func withoutNativeBF16AutoKeepsFloat32AndBF16IsAnError() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let environment = ChildProcess.environment(["ONEDNN_MAX_CPU_ISA": "AVX512_CORE"])
        let run = folder.url.appendingPathComponent("auto")
        let auto = try ChildProcess.run(ChildProcess.flockExecutable, ["train", digits, "--set", "epochs=1", "--set", "precision=auto",
                                                                        "--run-dir", run.path], environment: environment)
        try #require(auto.status == 0, "\(auto.output)")
        #expect(auto.output.contains("precision: float32 (auto: the CPU has no native bf16"))
        let summary = try JSONDecoder().decode(TrainingSummary.self, from: Data(contentsOf: run.appendingPathComponent("summary.json")))
        #expect(summary.precision?.used == .float32 && summary.precision?.isa == "AVX512_CORE")
        let bf16 = try ChildProcess.run(ChildProcess.flockExecutable, ["train", digits, "--set", "epochs=1", "--set", "precision=bf16",
                                                                        "--run-dir", folder.url.appendingPathComponent("bf16").path],
                                        environment: environment)
        #expect(bf16.status != 0)
        #expect(bf16.output.contains("precision: bf16 is not available here: the CPU has no native bf16"), "\(bf16.output)")
    }
}
