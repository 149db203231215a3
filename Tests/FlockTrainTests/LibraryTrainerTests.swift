import FlockComm
import FlockData
import FlockNN
import FlockParallel
import FlockStore
import FlockTensor
import FlockTestSupport
import Foundation
import Testing
@testable import FlockTrain

/// A user's own callback: counts epochs and remembers the last loss; stops after `stopAfter`.
struct EpochCounter: Callback {
    struct State: Codable, Sendable, Equatable {
        var epochs = 0
        var lastLoss: Double?
    }
    var state = State()
    let stateKey = "epoch_counter"
    let stopAfter: Int

    mutating func epochEnded(_ epoch: Int, metrics: [String: Double], control: inout TrainingControl) {
        state.epochs += 1
        state.lastLoss = metrics["loss"]
        control.stopTraining = control.stopTraining || state.epochs >= stopAfter
    }
}

/// The trainer built in Swift from its parts, without a config file.
@Suite struct LibraryTrainerTests {
    static func data() throws -> TrainingData {
        let all = try CSVReader(labelColumn: .name("label")).read(path: ChildProcess.digitsCSV)
        let (training, validation) = all.split(validationFraction: 0.2, seed: 3)
        let normalizer = Normalizer(method: .standard, fittingOn: training.features)
        return TrainingData(training: normalizer.apply(training), validation: normalizer.apply(validation),
                            normalizer: normalizer, classCount: 10)
    }

    static func trainer(_ data: TrainingData, epochs: Int, stopAfter: Int = 100,
                        step: StepParts = .singleRank()) throws -> Trainer {
        let model = try Model([.dense(units: 32, activation: .relu), .dropout(rate: 0.1),
                               .residual([.dense(units: 32, activation: .tanh)]), .dense(units: 10)],
                              inputShape: data.training.featureShape, seed: 9)
        var options = TrainingOptions()
        options.epochs = epochs
        options.batchSize = 64
        options.seed = 9
        options.learningRate = 0.01
        options.checkpointing = ModelCheckpoint(monitor: "val_loss", saveBest: 1)
        return try Trainer(model: model, data: data, loss: .crossEntropy(labelSmoothing: 0, classWeights: nil),
                           optimizer: Adam(), callbacks: [EpochCounter(stopAfter: stopAfter)], step: step,
                           options: options)
    }

    @Test func aModelBuiltInSwiftTrains() throws {
        let trainer = try Self.trainer(try Self.data(), epochs: 3)
        let summary = try trainer.fit()
        #expect(summary.epochsRun == 3)
        #expect(summary.final["val_accuracy"]! > 0.8)
        #expect((trainer.callbacks[0] as? EpochCounter)?.state.epochs == 3)
    }

    @Test func aCustomCallbackStopsTraining() throws {
        let summary = try Self.trainer(try Self.data(), epochs: 10, stopAfter: 2).fit()
        #expect(summary.epochsRun == 2)
        #expect(summary.stoppedEarly)
    }

    @Test func aCustomCallbackStateIsCheckpointedAndResumedExactly() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = try Self.data()
        let uninterrupted = try Self.trainer(data, epochs: 4)
        _ = try uninterrupted.fit()

        let first = try Self.trainer(data, epochs: 4)
        first.checkpointFolder = folder.url
        // Interrupted during epoch 3's logging: epoch 2's checkpoint is the last one written.
        #expect(throws: CancellationError.self) {
            _ = try first.fit { record in if record.epoch == 3 { throw CancellationError() } }
        }
        let last = try Checkpoint.load(folder.url.appendingPathComponent("last"))
        #expect(last.state.epoch == 2)
        #expect(try last.state.callbacks["epoch_counter"]?.decode(EpochCounter.State.self).epochs == 2)

        let resumed = try Self.trainer(data, epochs: 4)
        try resumed.resume(from: last)
        #expect((resumed.callbacks[0] as? EpochCounter)?.state.epochs == 2)
        _ = try resumed.fit()
        #expect((resumed.callbacks[0] as? EpochCounter)?.state == (uninterrupted.callbacks[0] as? EpochCounter)?.state)
        #expect((resumed.callbacks[0] as? EpochCounter)?.state.epochs == 4)
        #expect(resumed.parameters.snapshotState() == uninterrupted.parameters.snapshotState())
    }

    @Test func buffersAreCheckpointedAndRestored() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = try Self.data()
        func trainer() throws -> Trainer {
            let model = try Model([.dense(units: 10), LayerConfig(RunningCount.Spec())], inputShape: data.training.featureShape,
                                  seed: 2)
            var options = TrainingOptions()
            options.epochs = 1
            options.batchSize = 100
            options.checkpointing = ModelCheckpoint(monitor: "val_loss")
            return try Trainer(model: model, data: data, loss: .crossEntropy(labelSmoothing: 0, classWeights: nil),
                               optimizer: SGD(), options: options)
        }
        let first = try trainer()
        first.checkpointFolder = folder.url
        _ = try first.fit()
        let batches = Float((data.training.count + 99) / 100)
        let checkpoint = try Checkpoint.load(folder.url.appendingPathComponent("last"))
        let saved = try checkpoint.model
        #expect(saved["layers.1.count"]?.scalars == [batches])
        let second = try trainer()
        #expect(second.parameters.withBuffers { Array($0) } == [0])
        try second.resume(from: checkpoint)
        #expect(second.parameters.withBuffers { Array($0) } == [batches])
    }

    @Test func partsThatDoNotFitAreErrorsNamingWhat() throws {
        let data = try Self.data()
        func message(_ layers: [LayerConfig], inputShape: [Int]? = nil, callbacks: [any Callback] = [],
                     _ change: (inout TrainingOptions) -> Void = { _ in }) -> String {
            do {
                let model = try Model(layers, inputShape: inputShape ?? data.training.featureShape, seed: 1)
                var options = TrainingOptions()
                change(&options)
                _ = try Trainer(model: model, data: data, loss: .crossEntropy(labelSmoothing: 0, classWeights: nil),
                                optimizer: SGD(), callbacks: callbacks, options: options)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(message([.dense(units: 10)], inputShape: [32])
                == "model: the model takes inputs of shape [32] but the data's samples have shape [64]")
        #expect(message([.dense(units: 8), .dense(units: 7)])
                == "model[1].units: the model outputs 7 values per sample but loss 'cross_entropy' on this data needs 10 (10 classes)")
        #expect(message([.dense(units: 10)]) { $0.batchSize = 0 } == "options.batchSize: expected a positive integer, got 0")
        #expect(message([.dense(units: 10)]) { $0.accumulate = -1 } == "options.accumulate: expected a positive integer, got -1")
        #expect(message([.dense(units: 10)], callbacks: [EpochCounter(stopAfter: 1), EpochCounter(stopAfter: 2)])
                .hasPrefix("callbacks: two callbacks save their state under 'epoch_counter'"))
        #expect(message([.dense(units: 10)]) == "no error")
    }

    @Test func aCheckpointPositionOutsideThisJobIsALoadError() throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let data = try Self.data()
        let trainer = try Self.trainer(data, epochs: 1)
        trainer.checkpointFolder = folder.url
        _ = try trainer.fit()
        let saved = try Checkpoint.load(folder.url.appendingPathComponent("last"))
        for (field, edit) in [("batch_in_epoch", { (state: inout TrainingState) in state.batchInEpoch = 10_000 }),
                              ("epoch", { (state: inout TrainingState) in state.epoch = -1 }),
                              ("step", { (state: inout TrainingState) in state.step = -5 })] {
            var state = saved.state
            edit(&state)
            let damaged = try Checkpoint(url: saved.url, state: state, model: saved.model, optimizer: saved.optimizer,
                                     bestModel: saved.bestModel)
            let error = #expect(throws: Checkpoint.LoadError.self) { try Self.trainer(data, epochs: 1).resume(from: damaged) }
            #expect(error?.description.contains("state.json: \(field):") == true, "\(String(describing: error))")
        }
    }

    @Test func buffersAreBroadcastAtStartUp() throws {
        let data = try Self.data()
        let states = try LocalCommunicator.run(ranks: 2, deadline: 60) { comm -> [Float] in
            var registry = LayerRegistry.standard
            registry.register(RunningCount.Spec.self)
            let model = try Model([.dense(units: 10), LayerConfig(RunningCount.Spec())], inputShape: data.training.featureShape,
                                  seed: 2)
            // Rank 1 starts with another buffer value; rank 0's must win.
            model.parameters.withBuffers { $0[0] = comm.rank == 0 ? 100 : -1 }
            var options = TrainingOptions()
            options.epochs = 1
            let layout = try ParallelLayout(world: comm)
            let trainer = try Trainer(model: model, data: data, loss: .crossEntropy(labelSmoothing: 0, classWeights: nil),
                                      optimizer: SGD(), step: .dataParallel(layout: layout), options: options)
            return trainer.parameters.withBuffers { Array($0) }
        }
        #expect(states == [[100], [100]])
    }
}

/// Counts training batches in a buffer (a stand-in for running statistics).
struct RunningCount: Layer {
    let count: BufferSlot
    let outputShape: [Int]
    var ownBuffers: [BufferSlot] { [count] }

    func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        if context.isTraining { context.tape.parameters.withBuffer(count) { $0[0] += 1 } }
        return input
    }

    struct Spec: LayerSpec {
        static let typeName = "running_count"
        func makeLayer(inputShape: [Int], builder: inout LayerBuilder) throws -> any Layer {
            RunningCount(count: builder.buffer("count", shape: [1], initialValue: 0), outputShape: inputShape)
        }
    }
}
