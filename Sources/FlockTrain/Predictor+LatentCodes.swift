import FlockData
import FlockNN
import FlockTensor

/// A latent node's values on the data the model was trained on: what an ex-post prior is fitted to.
extension Predictor {
    /// The values (N, shape…) of graph node `latent` for the N samples of the training
    /// split (the config's data, split as training split it, through the checkpoint's
    /// preprocessing) — a VAE's posterior means, as a `sampling` layer gives μ at inference.
    /// The data file must still be where the run read it.
    public func trainingCodes(latent: String) throws -> Tensor {
        guard let graph = model.graph, let shape = graph.shapes[latent] else {
            throw ConfigError(path: "latent", "the model has no graph node '\(latent)'")
        }
        let node = config.graph?.nodes.first { $0.name == latent }
        if node?.layers?.last?.type == LatentNoise.Spec.typeName {
            throw ConfigError(path: "prior", "node '\(latent)' ends in a latent_noise layer: its values are noise, not codes of the data, so there is nothing to fit (use the normal prior)")
        }
        let training = try TrainingData(config: config, fitted: preprocessing).training
        let tape = Tape(parameters: model.parameters)
        tape.recordsBackward = false
        let batchSize = config.data.evalBatchSize ?? config.data.batchSize
        var codes: [Tensor] = []
        for start in stride(from: 0, to: training.count, by: batchSize) {
            let batch = try training.batch(Array(start..<min(start + batchSize, training.count)))
            tape.reset()
            var context = ForwardContext(tape: tape, isTraining: false, generator: RandomGenerator(seed: 0))
            context.labels = batch.targets
            guard let code = graph.values(tape.constant(batch.features), context: &context)[latent] else {
                throw ConfigError(path: "latent", "node '\(latent)' does not follow from the model's inputs")
            }
            codes.append(code.value)
        }
        return Tensor.concatenatingRows(codes, featureShape: shape)
    }
}
