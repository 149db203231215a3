import FlockComm
import Foundation
import Testing
@testable import FlockTrain

/// Runs for the zero-3 tests: a config trained on ranks as threads, the whole model
/// gathered on rank 0 at the end, and what each rank held of the weights.
enum ZeroThreeFixture {
    struct Outcome {
        /// The whole model's parameters and buffers (state layout), from rank 0.
        let model: [Float]
        /// Non-zero weights each rank held right after start-up, and after training.
        let heldAtStart: [Int], held: [Int]
        let report: InitializationReport?
    }

    /// `config` trained on `ranks` threads, checkpointing into `folder` (resuming first from
    /// its last checkpoint with `resume`).
    static func train(_ config: TrainingConfig, ranks: Int, folder: URL? = nil, resume: Bool = false) throws -> Outcome {
        let results = try LocalCommunicator.run(ranks: ranks, deadline: 120) { communicator in
            let trainer = try Trainer(config: config, communicator: communicator)
            let atStart = trainer.parameters.withParameters { values in values.filter { $0 != 0 }.count }
            trainer.checkpointFolder = communicator.rank == 0 ? folder : nil
            trainer.sharedCheckpointFolder = folder
            if resume, let folder { try trainer.resume(from: Checkpoint.load(folder.appendingPathComponent("last"))) }
            _ = try trainer.fit()
            let held = trainer.parameters.withParameters { values in values.filter { $0 != 0 }.count }
            return (try trainer.wholeModelState(), atStart, held, trainer.initializationReport)
        }
        return Outcome(model: try #require(results[0].0), heldAtStart: results.map(\.1), held: results.map(\.2), report: results[0].3)
    }

    /// The most weights a data rank of `ranks` keeps of the ZeroTests model between uses:
    /// ⌈rows / ranks⌉ rows of each of its (7, 64), (5, 7), (10, 5) weights with their biases.
    static func mostHeld(ranks: Int) -> Int {
        [(7, 65), (5, 8), (10, 6)].reduce(0) { $0 + ($1.0 + ranks - 1) / ranks * $1.1 }
    }
}
