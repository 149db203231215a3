import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Checkpoints and the final model are streamed from the parameter buffer and the
/// optimizer's moments, so writing them adds no copy of the training state.
@Suite(.serialized) struct CheckpointMemoryTests {
    /// 8.6M parameters: 138 MB of weights, gradients and Adam moments (16 bytes each),
    /// about 190 MB resident with the runtime. Building each file in memory (the state
    /// copied, then encoded: about 20 more bytes per parameter at the checkpoint) peaks
    /// near 360 MB; streamed, the run stays under a 260 MB cgroup limit, and the
    /// checkpoint it wrote resumes.
    @Test func checkpointsOfAModelNearTheMemoryLimitAreWrittenWithoutACopy() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let config = try MemoryEstimateTests.wideConfig(in: folder)
        let limit = try MemoryLimit(bytes: 260 << 20)
        defer { limit.remove() }
        let run = folder.url.appendingPathComponent("run")
        let trained = try limit.run(ChildProcess.flockExecutable, ["train", config.path, "--run-dir", run.path],
                                    timeout: 300, directory: folder.url)
        #expect(trained.status == 0, "under the limit, the run should end with its checkpoint written: \(trained.status) \(trained.output)")
        let checkpoint = try Checkpoint.load(run.appendingPathComponent("checkpoints/last"))
        let saved = try checkpoint.model
        #expect(saved["layers.1.weight"]?.shape == [2048, 2048])
        let moments = try checkpoint.optimizer
        #expect(moments.values.allSatisfy { $0.count == 8_546_314 }, "\(moments.mapValues(\.count))")
        let final = try SafeTensors.read(run.appendingPathComponent("model.safetensors"))
        #expect(final["layers.1.weight"]?.scalars == saved["layers.1.weight"]?.scalars)
    }
}
