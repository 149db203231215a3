import FlockComm
import FlockNN
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// Zero 3's units (each top-level layer with parameters) gather their rows around the
/// forward and again around the backward. A unit runs forward once and keeps its tape
/// for backward (FSDP's default: only the weights are given back in between) unless
/// `parallel.recompute` asks it to run forward again; either way the model is plain data
/// parallelism's to 1e-5.
@Suite struct ZeroThreeUnitTests {
    static func config(zero: Int, recompute: String) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 5
            epochs: 2
            data: {source: \(ChildProcess.digitsCSV), label_column: label, validation_split: 0.8, batch_size: 40}
            model:
              - {type: residual, block: [{type: dense, units: 64, activation: tanh}, {type: dropout, rate: 0.2}, {type: dense, units: 64}]}
              - {type: dense, units: 9, activation: relu}
              - {type: dense, units: 10}
            optimizer: {name: adam, lr: 0.01}
            parallel: {zero: \(zero), recompute: \(recompute)}
            """, baseDirectory: "/")
    }

    @Test(arguments: ["none", "blocks"])
    func unitsKeepTheirForwardUnlessAskedToRecompute(recompute: String) throws {
        let plain = try ZeroTests.train(Self.config(zero: 0, recompute: "none"), ranks: 2)
        let config = try Self.config(zero: 3, recompute: recompute)
        let sharded = try LocalCommunicator.run(ranks: 2, deadline: 120) { communicator in
            let trainer = try Trainer(config: config, communicator: communicator)
            _ = try trainer.fit()
            let replays = trainer.model.root.layers.map { ($0 as? RecomputedLayer)?.replays }
            return (try trainer.wholeModelState(), replays)
        }
        // The residual block replays only when `recompute: blocks` names it; the Dense
        // layers are never blocks.
        #expect(sharded[0].1 == [recompute == "blocks", false, false])
        #expect(ZeroTests.close(try #require(sharded[0].0), plain[0].state))
    }
}
