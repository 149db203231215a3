import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// A graph model (named inputs, nodes, a merge, a node sharing another's layers) at
/// `zero: 3`: every layer of every node gathers its rows around each use (the shared
/// node's around both of its), and the model is zero 0's.
@Suite struct ZeroThreeGraphTests {
    static func config(zero: Int) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 3
            epochs: 2
            data: {source: \(ChildProcess.digitsCSV), label_column: label, validation_split: 0.8, batch_size: 48}
            model:
              inputs: [{name: pixels, shape: [64]}]
              nodes:
                - {name: code, inputs: [pixels], layers: [{type: dense, units: 9, activation: tanh}, {type: dense, units: 7, activation: tanh}]}
                - {name: mixed, inputs: [code], layers: [{type: dense, units: 7, activation: tanh}]}
                - {name: again, inputs: [mixed], shares: mixed}
                - {name: both, inputs: [code, again], op: add}
                - {name: classes, inputs: [both], layers: [{type: dense, units: 10}]}
              outputs: [classes]
            optimizer: {name: adamw, lr: 0.01, weight_decay: 0.01}
            parallel: {zero: \(zero)}
            """, baseDirectory: "/")
    }

    @Test func zeroThreeTrainsAGraphModelAsZeroZero() throws {
        let plain = try ZeroThreeFixture.train(Self.config(zero: 0), ranks: 2)
        let sharded = try ZeroThreeFixture.train(Self.config(zero: 3), ranks: 2)
        #expect(ZeroTests.close(sharded.model, plain.model))
        // Weights (9, 64), (7, 9), (7, 7), (10, 7) and their biases: ⌈rows / 2⌉ rows of each.
        let most = [(9, 65), (7, 10), (7, 8), (10, 8)].reduce(0) { $0 + ($1.0 + 1) / 2 * $1.1 }
        for (rank, held) in sharded.held.enumerated() {
            #expect(held > 0 && held <= most, "rank \(rank) holds \(held) weights between steps")
        }
    }
}
