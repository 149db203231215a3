import FlockNN
import FlockTensor

/// Sampling from a generative graph: draws from the prior at a latent node and decodes.
extension Predictor {
    /// `samples` rows of `output` (default: the loss's first term's output) decoded from
    /// z ~ N(0, 1) put in place of node `latent` (default: the node whose last layer is a
    /// `sampling` layer), z drawn from `seed`. An output that reconstructs the whole
    /// feature row comes back in the data's units (normalization undone).
    ///
    /// ```swift
    /// let rows = try Predictor(path: "runs/vae-digits-…").generate(samples: 16)   // (16, 64)
    /// ```
    public func generate(samples: Int, latent: String? = nil, output: String? = nil, seed: UInt64 = 0) throws -> Tensor {
        guard let graph = model.graph, let graphConfig = config.graph else {
            throw ConfigError(path: "model", "generating needs a graph model with a latent node; this model is a layer list")
        }
        let latentName = try latent ?? Self.samplingNode(graphConfig)
        guard let latentShape = graph.shapes[latentName], graph.inputs.allSatisfy({ $0.name != latentName }) else {
            throw ConfigError(path: "latent", "unknown node '\(latentName)' (expected one of: \(graph.nodes.map(\.name).joined(separator: ", ")))")
        }
        let outputName = output ?? loss.primaryOutput
        let tape = Tape(parameters: model.parameters)
        tape.recordsBackward = false
        var generator = RandomGenerator(seed: seed)
        let z = Tensor.normal(shape: [samples] + latentShape, using: &generator)
        var context = ForwardContext(tape: tape, isTraining: false, generator: generator)
        guard let decoded = graph.values(given: [latentName: tape.constant(z)], context: &context)[outputName] else {
            throw ConfigError(path: "output", "output '\(outputName)' does not follow from node '\(latentName)' alone (it needs a model input)")
        }
        let reconstructsRow = loss.primaryOutput == outputName && loss.primaryTarget != .targets
            && decoded.value.count == samples * preprocessing.featureShape.reduce(1, *)
        return reconstructsRow ? preprocessing.normalizer.inverse(decoded.value) : decoded.value
    }

    /// The node whose last layer is a `sampling` layer: where a VAE's prior is drawn.
    static func samplingNode(_ graph: ModelGraphConfig) throws -> String {
        guard let node = graph.nodes.last(where: { $0.layers?.last?.type == Sampling.Spec.typeName }) else {
            throw ConfigError(path: "latent", "no node ends in a sampling layer: name the latent node (--latent)")
        }
        return node.name
    }
}

extension Predictor {
    /// Generated rows as CSV: a header of the feature columns the model was trained on
    /// when the rows are whole feature rows (so `flock predict` reads them back), else
    /// `v0, v1, …`.
    public func generatedCSV(_ rows: Tensor) -> String {
        let count = rows.shape.first ?? 0, width = count == 0 ? 0 : rows.count / count
        let names = preprocessing.featureColumns.flatMap { $0.count == width ? $0 : nil } ?? (0..<width).map { "v\($0)" }
        var text = names.map(Self.csvField).joined(separator: ",") + "\n"
        for row in 0..<count {
            text += (0..<width).map { String(rows.scalars[row * width + $0]) }.joined(separator: ",") + "\n"
        }
        return text
    }
}
