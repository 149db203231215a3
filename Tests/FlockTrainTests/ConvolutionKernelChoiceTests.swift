import FlockComm
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Conv2D kernels chosen at start-up: the same on every rank, recorded in `state.json`
/// and kept by a resume; bf16 convolutions train the digits CNN as well as Float32.
@Suite(.serialized) struct ConvolutionKernelChoiceTests {
    let cnn = ChildProcess.repositoryRoot.appendingPathComponent("examples/digits-cnn.yaml").path

    /// The example as it stands (20 epochs).
    @Test(.enabled(if: OneDNN.hasNativeBF16, "needs AVX512-BF16 or AMX"))
    func digitsCNNInBF16EndsWithinHalfAPointOfFloat32() throws {
        func run(_ precision: String) throws -> (TrainingSummary, Trainer) {
            let trainer = try Trainer(config: try ConfigLoader.load(path: cnn, overrides: ["precision=\(precision)"]))
            return (try trainer.fit(), trainer)
        }
        let (exact, exactTrainer) = try run("float32"), (mixed, mixedTrainer) = try run("bf16")
        #expect(mixedTrainer.parameters.convolutions?.precision == .bf16)
        #expect(mixedTrainer.parameters.snapshotParameters() != exactTrainer.parameters.snapshotParameters())
        let (a, b) = (exact.final["val_accuracy"]!, mixed.final["val_accuracy"]!)
        #expect(abs(a - b) <= 0.005, "val_accuracy Float32 \(a), bf16 \(b)")
    }

    /// Both ranks of a job run the kernels rank 0 chose, one per convolution shape.
    @Test func everyRankRunsRankZerosChoice() throws {
        let choices = try LocalCommunicator.run(ranks: 2, deadline: 120) { comm in
            let trainer = try Trainer(config: try ConfigLoader.load(path: cnn, overrides: ["epochs=1"]), communicator: comm)
            return trainer.parameters.convolutions?.choiceList ?? []
        }
        #expect(choices[0].count == 2 && choices[0] == choices[1])
    }

    /// `state.json` lists the kernel of each shape; a resume runs what it lists, even
    /// where this start-up's timing chose otherwise (here: every choice flipped).
    @Test func resumeKeepsTheKernelsInStateJSON() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try ConfigLoader.load(path: cnn, overrides: ["epochs=1"])
        let trainer = try Trainer(config: config)
        trainer.checkpointFolder = folder.url
        _ = try trainer.fit()
        let stateFile = folder.url.appendingPathComponent("last/state.json")
        let recorded = try #require(try Checkpoint.load(folder.url.appendingPathComponent("last")).state.convolutions)
        #expect(recorded == trainer.parameters.convolutions!.choiceList && recorded.count == 2)

        var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: stateFile)) as? [String: Any])
        let flipped = recorded.map { ConvolutionChoice(shape: $0.shape, kernel: $0.kernel == .onednn ? .im2col : .onednn) }
        state["convolutions"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(flipped))
        try JSONSerialization.data(withJSONObject: state).write(to: stateFile)
        try CheckpointManifest.reseal(stateFile.resolvingSymlinksInPath().deletingLastPathComponent())
        let resumed = try Trainer(config: config)
        try resumed.resume(from: try Checkpoint.load(folder.url.appendingPathComponent("last")))
        #expect(resumed.parameters.convolutions!.choiceList == flipped)
    }
}
