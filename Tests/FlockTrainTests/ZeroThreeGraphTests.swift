import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// A graph model (named inputs, nodes, a merge, a node sharing another's layers) at
/// `zero: 3`: every layer of every node gathers its rows around each use (the shared
/// node's around both of its), and the model is zero 0's.
@Suite(.hangLimit) struct ZeroThreeGraphTests {
    static func config(zero: Int, batchSize: Int = 48, epochs: Int = 2, overrides: [String] = []) throws -> TrainingConfig {
        try ConfigLoader.decode(yaml: """
            seed: 3
            epochs: \(epochs)
            data: {source: \(ChildProcess.digitsCSV), label_column: label, validation_split: 0.8, batch_size: \(batchSize)}
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
            """, overrides: overrides, baseDirectory: "/")
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

    /// A last batch of 3 samples on 4 ranks: the rank without samples makes every node's
    /// gathers (the shared node's twice) in the order the others' forward and backward do.
    @Test func aRankWithoutSamplesTakesPartInEveryNodesGathers() throws {
        let plain = try ZeroThreeFixture.train(Self.config(zero: 0, batchSize: 356, epochs: 1), ranks: 4)
        let sharded = try ZeroThreeFixture.train(Self.config(zero: 3, batchSize: 356, epochs: 1), ranks: 4)
        #expect(ZeroTests.close(sharded.model, plain.model))
    }

    /// A variational autoencoder (examples/vae-digits.yaml: a sampling layer that adds a KL
    /// term) at zero 3: layers without parameters are not recomputed, so the sampling
    /// layer's term stays, and the model is zero 0's.
    @Test func aSamplingLayerTrainsAtZeroThree() throws {
        let examples = ChildProcess.repositoryRoot.appendingPathComponent("examples")
        let yaml = try String(contentsOf: examples.appendingPathComponent("vae-digits.yaml"), encoding: .utf8)
        func config(zero: Int) throws -> TrainingConfig {
            try ConfigLoader.decode(yaml: yaml, overrides: ["parallel.zero=\(zero)", "epochs=1"], baseDirectory: examples.path)
        }
        let plain = try ZeroThreeFixture.train(config(zero: 0), ranks: 2)
        let sharded = try ZeroThreeFixture.train(config(zero: 3), ranks: 2)
        #expect(ZeroTests.close(sharded.model, plain.model))
    }

    /// Nodes with parameters whose outputs the loss does not read — `probe`, an output only
    /// predicted, and `aside`, a branch no output reads — with a last batch that leaves
    /// one of 4 ranks empty: backward reaches neither, yet the ranks with samples make
    /// their gathers as the empty rank does, so the collectives stay in step.
    @Test func nodesTheLossDoesNotReadKeepTheGathersInStep() throws {
        let unread = [
            "model.nodes=[{name: code, inputs: [pixels], layers: [{type: dense, units: 9, activation: tanh}]}, "
                + "{name: aside, inputs: [code], layers: [{type: dense, units: 4}]}, "
                + "{name: classes, inputs: [code], layers: [{type: dense, units: 10}]}, "
                + "{name: probe, inputs: [code], layers: [{type: dense, units: 3}]}]",
            "model.outputs=[classes, probe]",
            "loss={terms: [{name: cross_entropy, output: classes}]}",
        ]
        let plain = try ZeroThreeFixture.train(Self.config(zero: 0, batchSize: 356, epochs: 1, overrides: unread), ranks: 4)
        let sharded = try ZeroThreeFixture.train(Self.config(zero: 3, batchSize: 356, epochs: 1, overrides: unread), ranks: 4)
        #expect(ZeroTests.close(sharded.model, plain.model))
    }
}
