import Flock

// Data: CSV with a header row; the label column is named "label".
let digits = try CSVReader(labelColumn: .name("label")).read(path: "../data/digits.csv")
let (training, validation) = digits.split(validationFraction: 0.2, seed: 1)
let normalizer = Normalizer(method: .standard, fittingOn: training.features)
let loader = DataLoader(dataset: normalizer.apply(training), batchSize: 32, seed: 1)

// Model: parameters live in one flat store, named layers.0.weight, layers.0.bias, ...
let parameters = ParameterStore()
var generator = RandomGenerator(seed: 1)
let model = Sequential([.dense(units: 128, activation: .relu), .dense(units: 10)],
                       inputShape: [64], parameters: parameters, generator: &generator)
var optimizer = Adam()
let tape = Tape(parameters: parameters)

for epoch in 0..<20 {
    for batch in loader.batches(epoch: epoch) {
        tape.reset()
        var context = ForwardContext(tape: tape, isTraining: true, generator: generator)
        let logits = model.forward(tape.constant(batch.features), context: &context)
        let loss = tape.softmaxCrossEntropy(logits, labels: batch.targets.scalars.map { Int($0) })
        tape.backward(from: loss)
        optimizer.step(parameters, learningRate: 0.001)
    }
}

tape.reset()
var context = ForwardContext(tape: tape, isTraining: false, generator: generator)
let logits = model.forward(tape.constant(normalizer.apply(validation.features)), context: &context)
var confusion = ConfusionMatrix(classCount: 10)
confusion.add(actual: validation.targets.scalars.map { Int($0) }, predicted: logits.value.argmaxRows())
print("validation accuracy \(confusion.accuracy), macro F1 \(confusion.macroF1)")
