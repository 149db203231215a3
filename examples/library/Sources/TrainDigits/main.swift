import Flock

// Data: CSV with a header row; the label column is named "label". Normalization is
// fitted on the training split only and kept with the data.
let digits = try CSVReader(labelColumn: .name("label")).read(path: "../data/digits.csv")
let (training, validation) = digits.split(validationFraction: 0.2, seed: 1)
let normalizer = Normalizer(method: .standard, fittingOn: training.features)
let data = TrainingData(training: normalizer.apply(training), validation: normalizer.apply(validation),
                        normalizer: normalizer, classCount: digits.inferredClassCount)

// Model: layers are modules; a residual block nests a Sequential, so its parameters are
// named layers.2.block.0.weight, ...
let model = try Model([.dense(units: 128, activation: .relu),
                       .dropout(rate: 0.1),
                       .residual([.dense(units: 128, activation: .relu)]),
                       .dense(units: 10)],
                      inputShape: data.training.featureShape, seed: 1)

// A callback of our own: its Codable state goes into every checkpoint and comes back on
// resume, exactly like EarlyStopping's.
struct StopAtAccuracy: Callback {
    struct State: Codable, Sendable { var epochsAbove = 0 }
    var state = State()
    let stateKey = "stop_at_accuracy"
    let target: Double

    mutating func epochEnded(_ epoch: Int, metrics: [String: Double], control: inout TrainingControl) {
        state.epochsAbove = (metrics["val_accuracy"] ?? 0) >= target ? state.epochsAbove + 1 : 0
        control.stopTraining = control.stopTraining || state.epochsAbove >= 2
    }
}

var options = TrainingOptions()
options.epochs = 30
options.batchSize = 32
options.learningRate = 0.002
options.schedule = LearningRateSchedule(CosineSchedule(minLR: 0))

// One rank here; `step: .dataParallel(layout: ParallelLayout(world: communicator))` trains
// the same model data-parallel, and the trainer does not know the difference.
let trainer = try Trainer(model: model, data: data, loss: .crossEntropy(labelSmoothing: 0.05, classWeights: nil),
                          optimizer: Adam(),
                          callbacks: [EarlyStopping(patience: 5, restoreBestWeights: true), StopAtAccuracy(target: 0.985)],
                          step: .singleRank(), options: options)
let summary = try trainer.fit { record in
    print("epoch \(record.epoch): val_loss \(record.metrics["val_loss"]!), val_accuracy \(record.metrics["val_accuracy"]!)")
}
print("done after \(summary.epochsRun) epochs\(summary.stoppedEarly ? " (stopped early)" : ""), best val_accuracy \(summary.best["val_accuracy"]!)")
