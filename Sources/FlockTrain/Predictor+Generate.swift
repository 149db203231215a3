import FlockNN
import FlockTensor

/// Sampling from a generative graph: draws from the prior at a latent node and decodes.
extension Predictor {
    /// `samples` rows of `output` (default: the graph's first output) decoded from
    /// z ~ N(0, T²) put in place of node `latent` (default: the node whose last layer is a
    /// `sampling` or `latent_noise` layer), z drawn from `seed`; the temperature T below 1
    /// keeps the draws nearer the prior's mode, where a VAE's decoder is best trained
    /// (as Kingma & Dhariwal's Glow samples at T 0.7). `prior: .mixture(components: K)`
    /// draws z instead from K Gaussians fitted by EM (from `seed`) to the latent node's
    /// values on the training split (`trainingCodes(latent:)`), each component's spread
    /// scaled by T. A model with an input
    /// `from: labels` (a conditional GAN) needs `condition`: the class every sample is
    /// drawn for, by index or by the class name the labels used. An output as wide as the
    /// feature row comes back in the data's units (normalization undone).
    ///
    /// ```swift
    /// let rows = try Predictor(path: "runs/vae-digits-…").generate(samples: 16)   // (16, 64)
    /// let sevens = try Predictor(path: "runs/gan-digits-…").generate(samples: 16, condition: "7")
    /// ```
    public func generate(samples: Int, latent: String? = nil, output: String? = nil, seed: UInt64 = 0,
                         condition: String? = nil, temperature: Float = 1, prior: LatentPrior = .standardNormal) throws -> Tensor {
        guard temperature > 0, temperature.isFinite else {
            throw ConfigError(path: "temperature", "expected a number > 0, got \(temperature)")
        }
        guard let graph = model.graph, let graphConfig = config.graph else {
            throw ConfigError(path: "model", "generating needs a graph model with a latent node; this model is a layer list")
        }
        let latentName = try latent ?? Self.latentNode(graphConfig)
        guard let latentShape = graph.shapes[latentName], graph.inputs.allSatisfy({ $0.name != latentName }) else {
            throw ConfigError(path: "latent", "unknown node '\(latentName)' (expected one of: \(graph.nodes.map(\.name).joined(separator: ", ")))")
        }
        let outputName = output ?? graph.outputs[0]
        let tape = Tape(parameters: model.parameters)
        tape.recordsBackward = false
        var generator = RandomGenerator(seed: seed)
        let z = try drawCodes(samples, shape: latentShape, latent: latentName, prior: prior, seed: seed, temperature: temperature,
                              generator: &generator)
        var given = [latentName: tape.constant(z)]
        for (name, value) in try conditionInputs(graph, condition: condition, samples: samples) { given[name] = tape.constant(value) }
        var context = ForwardContext(tape: tape, isTraining: false, generator: generator)
        guard let decoded = graph.values(given: given, context: &context)[outputName] else {
            throw ConfigError(path: "output", "output '\(outputName)' does not follow from node '\(latentName)' alone (it needs a model input)")
        }
        let reconstructsRow = decoded.value.count == samples * preprocessing.featureShape.reduce(1, *)
        return reconstructsRow ? preprocessing.normalizer.inverse(decoded.value) : decoded.value
    }

    /// (samples, shape…) codes from `prior`.
    private func drawCodes(_ samples: Int, shape: [Int], latent: String, prior: LatentPrior, seed: UInt64, temperature: Float,
                           generator: inout RandomGenerator) throws -> Tensor {
        guard case let .mixture(components) = prior else {
            return Tensor.normal(shape: [samples] + shape, using: &generator) * temperature
        }
        let codes = try trainingCodes(latent: latent)
        let rows = codes.shape[0]
        guard components <= rows else {
            throw ConfigError(path: "prior", "mixture:\(components) needs at least \(components) codes to fit; the training split gives \(rows)")
        }
        let mixture = try GaussianMixture.fit(codes.reshaped([rows, codes.count / max(rows, 1)]), components: components, seed: seed)
        var draws = RandomGenerator(seed: seed, stream: 1)
        return mixture.sample(count: samples, temperature: Double(temperature), using: &draws).reshaped([samples] + shape)
    }

    /// Each input `from: labels` as `samples` one-hot rows of `condition`'s class.
    private func conditionInputs(_ graph: ModelGraph, condition: String?, samples: Int) throws -> [String: Tensor] {
        let labelInputs = graph.labelInputs
        guard let condition else {
            guard let input = labelInputs.first else { return [:] }
            throw ConfigError(path: "condition", "the model is conditioned on input '\(input.name)' (one of \(input.shape[0]) classes): name the class to draw (--condition)")
        }
        guard let width = labelInputs.first?.shape[0] else {
            throw ConfigError(path: "condition", "the model has no input from labels to condition on")
        }
        let names = preprocessing.classNames
        guard let label = names?.firstIndex(of: condition) ?? (names == nil ? Int(condition) : nil), (0..<width).contains(label) else {
            throw ConfigError(path: "condition", "unknown class '\(condition)' (expected \(names.map { "one of: \($0.joined(separator: ", "))" } ?? "0 to \(width - 1)"))")
        }
        let labels = Tensor(repeating: Float(label), shape: [samples])
        return Dictionary(uniqueKeysWithValues: labelInputs.map { ($0.name, ModelGraph.oneHot(labels, rows: samples, classes: $0.shape[0])) })
    }

    /// The node whose last layer is a `sampling` or `latent_noise` layer: where the prior is drawn.
    static func latentNode(_ graph: ModelGraphConfig) throws -> String {
        let kinds = [Sampling.Spec.typeName, LatentNoise.Spec.typeName]
        guard let node = graph.nodes.last(where: { kinds.contains($0.layers?.last?.type ?? "") }) else {
            throw ConfigError(path: "latent", "no node ends in a sampling or latent_noise layer: name the latent node (--latent)")
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
