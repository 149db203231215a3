import FlockNN
import FlockParallel
import FlockTensor
import Foundation

/// A trained model ready for new data: the checkpoint's config, weights and the
/// preprocessing fitted at training time (never re-fitted on the data it is given).
///
/// ```swift
/// let predictor = try Predictor(path: "runs/digits-mlp-2026…")   // a run: its best checkpoint
/// let result = try predictor.predict(csv: "new-digits.csv")
/// print(result.labels.prefix(3))                                 // ["3", "8", "1"]
/// ```
public struct Predictor {
    public let checkpoint: Checkpoint
    /// Which checkpoint a run directory meant.
    public let choice: String
    public let config: TrainingConfig
    public let preprocessing: Preprocessing
    public let model: Model
    public let loss: Loss

    /// Loads the checkpoint `path` means (see `CheckpointLocation`).
    public init(path: String) throws {
        let (folder, choice) = try CheckpointLocation.resolve(path)
        try self.init(checkpoint: try Checkpoint.load(folder), choice: choice)
    }

    public init(checkpoint: Checkpoint, choice: String? = nil) throws {
        guard let yaml = checkpoint.configYAML, let preprocessing = checkpoint.preprocessing else {
            throw Checkpoint.LoadError(description: "\(checkpoint.url.path): written before checkpoints kept their preprocessing (no preprocessing.json): retrain, or use flock evaluate with the training config")
        }
        self.checkpoint = checkpoint
        self.choice = choice ?? "checkpoint \(checkpoint.url.path)"
        config = try ConfigLoader.decode(yaml: yaml, baseDirectory: "/")
        self.preprocessing = preprocessing
        loss = try config.makeLoss()
        model = try config.makeModel(inputShape: preprocessing.featureShape)
        let source = checkpoint.url.appendingPathComponent("model.safetensors").path
        let values = try model.parameters.stateLayout.flatMap { entry in
            try checkpoint.modelTensors.extract(entry.name, placement: .whole(entry.shape), source: source)
        }
        model.parameters.restoreState(values)
    }

    /// What the model says about some rows.
    public struct Result: Sendable {
        /// (N, outputs…) in the data's units (regression: standardization undone; a
        /// classifier: its logits or probabilities as trained).
        public let outputs: Tensor
        /// Per row: the class (its name when the training labels had names) or the
        /// predicted value(s), as text.
        public let labels: [String]
        /// Per row and class, for classifiers: softmax (or sigmoid) probabilities.
        public let probabilities: [[Float]]?
        /// Loss and metrics when the rows came with targets.
        public let metrics: [String: Double]?
    }

    /// Predictions for raw feature rows (N, columns…) and, optionally, their raw targets
    /// (class indices, or values in the data's units). `output` names a graph's output
    /// (default: the one the loss's first term reads; another comes as plain values,
    /// without metrics).
    public func predict(features raw: Tensor, targets: Tensor? = nil, source: String = "features",
                        output: String? = nil) throws -> Result {
        let outputName = output ?? loss.primaryOutput
        guard model.outputNames.contains(outputName) else {
            throw ConfigError(path: "output", "unknown output '\(outputName)' (expected one of: \(model.outputNames.joined(separator: ", ")))")
        }
        let isPrimary = outputName == loss.primaryOutput
        let inputs = try preprocessing.inputs(raw, source: source)
        // In chunks of eval_batch_size (or the training batch size), on a tape that keeps
        // one layer's activations at a time.
        let rows = inputs.shape.first ?? 0, batch = config.data.evalBatchSize ?? config.data.batchSize
        var outputs: [Tensor] = []
        var accumulator = MetricAccumulator(metrics: config.resolvedMetrics, loss: loss, classCount: preprocessing.classCount,
                                            targetScaling: loss.primaryTarget == .targets ? preprocessing.targetScaling : nil)
        let tape = Tape(parameters: model.parameters)
        tape.recordsBackward = false
        for start in stride(from: 0, to: rows, by: batch) {
            let range = start..<min(start + batch, rows)
            tape.reset()
            var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
            let batchInputs = inputs.rows(range)
            // A graph input from labels (a conditional model) reads them where the data has them.
            context.labels = targets.map { preprocessing.trainingTargets($0.rows(range)) }
            let named = model.forwardOutputs(tape.constant(batchInputs), context: &context)
            let output = named[outputName]!
            if isPrimary, let targets {
                let trained = preprocessing.trainingTargets(targets.rows(range)), values = model.inputTensors(batchInputs, readBy: loss)
                accumulator.add(meanLoss: loss(named, target: trained, inputs: values, added: context.addedLosses).value.scalar,
                                outputs: output.value, targets: loss.metricTargets(trained, inputs: values))
            }
            outputs.append(output.value)
        }
        let all = Tensor.concatenatingRows(outputs, featureShape: model.outputShape(of: outputName))
        return describe(all, metrics: targets == nil || !isPrimary ? nil : accumulator.values(), isPrimary: isPrimary)
    }

    /// Labels and probabilities of the model's outputs (N, k).
    /// Another output than the loss's first reads comes as plain values.
    func describe(_ outputs: Tensor, metrics: [String: Double]?, isPrimary: Bool = true) -> Result {
        let rows = outputs.shape.first ?? 0, width = rows == 0 ? 1 : outputs.count / rows
        switch isPrimary ? loss.reading : .values {
        case .classLogits:
            let probabilities = Tensor.softmaxLastAxis(outputs.reshaped([rows, width]))
            let classes = outputs.reshaped([rows, width]).argmaxRows()
            return Result(outputs: outputs, labels: classes.map(preprocessing.className), probabilities: Self.rows(probabilities),
                          metrics: metrics)
        case let .binary(fromLogits):
            let positive = outputs.scalars.map { fromLogits ? 1 / (1 + Foundation.exp(-$0)) : $0 }
            return Result(outputs: outputs, labels: positive.map { preprocessing.className($0 > 0.5 ? 1 : 0) },
                          probabilities: positive.map { [1 - $0, $0] }, metrics: metrics)
        case .values:
            // A reconstruction of the input stays in the model's (normalized) units.
            let original = isPrimary && loss.primaryTarget == .targets ? preprocessing.original(outputs) : outputs
            let labels = (0..<rows).map { row in
                (0..<width).map { String(original.scalars[row * width + $0]) }.joined(separator: " ")
            }
            return Result(outputs: original, labels: labels, probabilities: nil, metrics: metrics)
        }
    }

    private static func rows(_ tensor: Tensor) -> [[Float]] {
        let rows = tensor.shape.first ?? 0, width = rows == 0 ? 0 : tensor.count / rows
        return (0..<rows).map { Array(tensor.scalars[($0 * width)..<(($0 + 1) * width)]) }
    }
}
