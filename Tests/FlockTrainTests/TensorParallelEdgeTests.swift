import FlockComm
import FlockData
import FlockNN
import FlockTensor
import Foundation
import Testing
@testable import FlockTrain
@testable import FlockParallel

/// Tensor parallelism where widths and randomness make it easy to get wrong.
@Suite struct TensorParallelEdgeTests {
    /// 60 samples of 6 features; a regression target.
    static func data() -> TrainingData {
        var generator = RandomGenerator(seed: 8)
        let features = (0..<360).map { _ in generator.nextUniform(-1, 1) }
        let targets = (0..<60).map { features[$0 * 6] - features[$0 * 6 + 3] }
        let all = Dataset(features: Tensor(shape: [60, 6], scalars: features), targets: Tensor(shape: [60], scalars: targets))
        return TrainingData(training: all, validation: all.subset(Array(0..<12)),
                            normalizer: Normalizer(method: .none, fittingOn: all.features), classCount: nil)
    }

    /// Trains `layers` on `ranks` ranks with `tensor` slices; returns each rank's parameters by name.
    static func train(_ layers: [LayerConfig], ranks: Int, tensor: Int) throws -> [[String: [Float]]] {
        try LocalCommunicator.run(ranks: ranks, deadline: 60) { communicator -> [String: [Float]] in
            let model = try Model(layers, inputShape: [6], seed: 2)
            var options = TrainingOptions()
            options.epochs = 2
            options.batchSize = 12
            options.seed = 2
            let layout = try ParallelLayout(world: communicator, tensorWidth: tensor)
            let trainer = try Trainer(model: model, data: Self.data(), loss: .meanSquaredError, optimizer: Adam(),
                                      step: .modelParallel(ModelParallelStep(layout: layout, microBatches: 1)), options: options)
            _ = try trainer.fit()
            let store = trainer.parameters
            return Dictionary(uniqueKeysWithValues: store.slots.map { ($0.name, store.value(of: $0).scalars) })
        }
    }

    @Test func aHeadNarrowerThanTheGroupStaysWholeAndTrains() throws {
        // Dense 7 gathers its slices (LayerNorm needs all features); the 1-unit head cannot be split over 2.
        let layers: [LayerConfig] = [.dense(units: 7, activation: .relu), .layerNorm(), .dense(units: 1)]
        #expect(ModelShard.tensorRoles(layers, in: 0..<3, width: 2) == [0: .column(gathersOutput: true)])
        let single = try Self.train(layers, ranks: 1, tensor: 1)[0]
        let sharded = try Self.train(layers, ranks: 2, tensor: 2)
        // The head is whole on both ranks and equal to the one-rank run's.
        for rank in 0..<2 {
            let head = try #require(sharded[rank]["layers.2.weight"])
            #expect(head.count == 7)
            let worst = zip(head, single["layers.2.weight"]!).map { abs($0 - $1) }.max()!
            #expect(worst < 1e-4, "rank \(rank): \(worst)")
        }
    }

    @Test func replicatedLayersStayEqualAcrossTheGroupWithDropout() throws {
        // Dropout and LayerNorm after the MLP pair run replicated on both tensor ranks.
        let layers: [LayerConfig] = [.dense(units: 8, activation: .relu), .dense(units: 6, activation: .relu),
                                     .dropout(rate: 0.5), .layerNorm(), .dense(units: 1)]
        let ranks = try Self.train(layers, ranks: 2, tensor: 2)
        for name in ["layers.3.weight", "layers.3.bias", "layers.4.weight"] {
            #expect(ranks[0][name] != nil && ranks[0][name] == ranks[1][name], "\(name) differs between the tensor ranks")
        }
    }
}
