import FlockNN
import FlockTensor
import Foundation

/// Decoding a sequence-to-sequence model: greedy or beam search over its decoder node.
extension Predictor {
    /// How to decode: `beam` hypotheses kept (1: greedy), the token that ends a sequence,
    /// α of the length penalty ((5 + |Y|)/6)^α (Wu et al. 2016).
    public struct Decoding: Sendable {
        public var beam: Int
        public var endToken: Int
        public var lengthPenalty: Double

        public init(beam: Int, endToken: Int, lengthPenalty: Double = 0.6) {
            self.beam = beam
            self.endToken = endToken
            self.lengthPenalty = lengthPenalty
        }
    }

    /// Every row of raw `features` decoded by the graph output `output` (default the one
    /// the loss reads): the encoder runs on the row, and the decoder from the start token
    /// the row's decoder input holds at step 0, for at most T steps (the decoder input's).
    /// Labels: the decoded ids (end token left out), space-separated. When the loss's first
    /// term reads a graph input (the target tokens), `exact_match` is the fraction of rows
    /// whose decoded ids, end token included, are the target's up to its end token.
    public func decode(features raw: Tensor, decoding: Decoding, source: String = "features",
                       output: String? = nil) throws -> Result {
        guard let graph = model.graph else {
            throw ConfigError(path: "beam", "decoding needs a graph model whose output node holds transformer_decoder layers")
        }
        guard decoding.beam > 0 else { throw ConfigError(path: "beam", "expected a positive number of hypotheses, got \(decoding.beam)") }
        let decoder: SequenceDecoder
        do { decoder = try SequenceDecoder(graph: graph, output: output ?? loss.primaryOutput) } catch let error as SequenceDecoder.Unsupported {
            throw ConfigError(path: "model-output", error.description)
        }
        let inputs = try preprocessing.inputs(raw, source: source)
        let targets = graph.inputs.first { $0.name == loss.primaryTarget.rawValue }.map { graph.inputTensors(inputs)[$0.name]! }
        let steps = decoder.tokenInput.shape[0]
        let search = BeamSearch(width: decoding.beam, maxSteps: steps, endToken: decoding.endToken, lengthPenalty: decoding.lengthPenalty)
        let tape = Tape(parameters: model.parameters)
        tape.recordsBackward = false
        var decoded: [[Int]] = [], matches = 0
        for row in 0..<(inputs.shape.first ?? 0) {
            let features = inputs.rows(row..<(row + 1))
            let start = Int(features.scalars[decoder.tokenInput.columns.lowerBound])
            let best = decoder.search(search, features: features, start: start, tape: tape).first?.tokens ?? []
            decoded.append(best)
            if let targets {
                let target = targets.scalars[(row * steps)..<((row + 1) * steps)].map { Int($0) }
                let end = target.firstIndex(of: decoding.endToken).map { $0 + 1 } ?? target.count
                if best == Array(target[..<end]) { matches += 1 }
            }
        }
        let outputs = Tensor(shape: [decoded.count, steps], scalars: decoded.flatMap { ids in
            (ids + [Int](repeating: decoding.endToken, count: steps - ids.count)).map(Float.init)
        })
        let labels = decoded.map { ids in ids.filter { $0 != decoding.endToken }.map(String.init).joined(separator: " ") }
        let metrics = targets.map { _ in ["exact_match": Double(matches) / Double(max(decoded.count, 1))] }
        return Result(outputs: outputs, labels: labels, probabilities: nil, metrics: metrics)
    }

    /// `decode(features:…)` on every row of the CSV file `path` (the feature columns by name).
    public func decode(csv path: String, decoding: Decoding, output: String? = nil) throws -> Result {
        let read = try readCSV(path)
        return try decode(features: read.features, decoding: decoding, source: path, output: output)
    }
}
