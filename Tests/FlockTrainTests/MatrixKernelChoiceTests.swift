import FlockComm
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Float32 matrix-product libraries: `auto` runs the shape rule; `timed` is the same on
/// every rank, recorded in `state.json` and kept by a resume; `openblas` is plain sgemm.
@Suite(.serialized) struct MatrixKernelChoiceTests {
    let mlp = ChildProcess.repositoryRoot.appendingPathComponent("examples/digits-mlp.yaml").path

    @Test func autoRunsTheShapeRuleAndOpenBLASRunsSgemm() throws {
        let auto = try Trainer(config: try ConfigLoader.load(path: mlp, overrides: ["epochs=1"]))
        guard case .float32PerShape(let kernels) = auto.parameters.matrixProducts else {
            Issue.record("auto gave \(auto.parameters.matrixProducts)")
            return
        }
        #expect(kernels.rule.kernel(for: MatrixProductShape(transposeA: false, transposeB: true, m: 32, n: 64, k: 64)) == .onednn)
        #expect(kernels.choices.isEmpty)
        let plain = try Trainer(config: try ConfigLoader.load(path: mlp, overrides: ["epochs=1", "matrix_kernels=openblas"]))
        guard case .float32 = plain.parameters.matrixProducts else {
            Issue.record("openblas gave \(plain.parameters.matrixProducts)")
            return
        }
    }

    /// Both ranks run the libraries rank 0 chose, one per product shape of the step.
    @Test func everyRankRunsRankZerosTimedChoice() throws {
        let choices = try LocalCommunicator.run(ranks: 2, deadline: 120) { comm in
            let trainer = try Trainer(config: try ConfigLoader.load(path: mlp, overrides: ["epochs=1", "matrix_kernels=timed"]),
                                      communicator: comm)
            return trainer.parameters.matrixProducts.perShapeChoices ?? []
        }
        // Three dense layers: forward, weight and input products, less the first input's.
        #expect(choices[0].count == 8 && choices[0] == choices[1], "\(choices)")
    }

    /// Each rank's own timing would choose otherwise here (rank 1 the opposite of rank 0);
    /// every rank still gets rank 0's choice, and only rank 0 times.
    @Test func rankZerosChoiceReachesEveryRankWhereTheirTimingsDisagree() throws {
        let results = try LocalCommunicator.run(ranks: 2, deadline: 60) { comm in
            var timedHere = false
            let chosen = try RankZeroChoice.agree(on: ["a", "b", "c"], rank: comm.rank, world: comm) { shapes in
                timedHere = true
                return shapes.indices.map { ($0 + comm.rank) % 2 == 0 }
            }
            return (chosen, timedHere)
        }
        #expect(results.map(\.0) == [[true, false, true], [true, false, true]])
        #expect(results.map(\.1) == [true, false])
    }

    /// `state.json` lists the library of each shape; a resume runs what it lists, even
    /// where this start-up's timing chose otherwise (here: every choice flipped).
    @Test func resumeKeepsTheTimedChoicesInStateJSON() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try ConfigLoader.load(path: mlp, overrides: ["epochs=1", "matrix_kernels=timed"])
        let trainer = try Trainer(config: config)
        trainer.checkpointFolder = folder.url
        _ = try trainer.fit()
        let stateFile = folder.url.appendingPathComponent("last/state.json")
        let recorded = try #require(try Checkpoint.load(folder.url.appendingPathComponent("last")).state.matrixProducts)
        #expect(recorded == trainer.parameters.matrixProducts.perShapeChoices && recorded.count == 8)

        var state = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: stateFile)) as? [String: Any])
        let flipped = recorded.map { MatrixProductChoice(shape: $0.shape, kernel: $0.kernel == .onednn ? .openblas : .onednn) }
        state["matrix_products"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(flipped))
        try JSONSerialization.data(withJSONObject: state).write(to: stateFile)
        try CheckpointManifest.reseal(stateFile.resolvingSymlinksInPath().deletingLastPathComponent())
        let resumed = try Trainer(config: config)
        try resumed.resume(from: try Checkpoint.load(folder.url.appendingPathComponent("last")))
        #expect(resumed.parameters.matrixProducts.perShapeChoices == flipped)
    }
}
