import FlockData
import FlockNN
import FlockTensor

/// `data.sequence`: each row of the file is one sequence with one label — `steps` × `features`
/// values laid out step by step (`{steps: 32, features: 1}`: per-sample shape (32, 1)), or
/// `steps` token ids (`{steps: 16, tokens: 12}`: shape (16), ids in 0..<12, for an
/// `embedding` layer; token ids are never normalized and are checked when the file is read).
public struct SequenceConfig: Codable, Equatable, Sendable {
    public var steps: Int
    /// C values per step (continuous features); nil with `tokens`.
    public var features: Int?
    /// V: the vocabulary size when each step is one token id.
    public var tokens: Int?

    public init(steps: Int, features: Int? = nil, tokens: Int? = nil) {
        self.steps = steps
        self.features = features
        self.tokens = tokens
    }

    enum CodingKeys: String, CodingKey, CaseIterable { case steps, features, tokens }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, owner: "data.sequence")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        guard let steps = try c.decodeIfPresent(Int.self, forKey: .steps) else {
            throw ConfigError(path: decoder.fieldPath(CodingKeys.steps), "a sequence needs steps")
        }
        self.init(steps: steps, features: try c.decodeIfPresent(Int.self, forKey: .features),
                  tokens: try c.decodeIfPresent(Int.self, forKey: .tokens))
    }

    /// Per-sample feature shape: (steps, features) or (steps).
    public var shape: [Int] { tokens == nil ? [steps, features ?? 1] : [steps] }

    func validate(path: String) throws {
        try Check.within(steps, 1, 1 << 20, "\(path).steps")
        if let features { try Check.within(features, 1, 1 << 20, "\(path).features") }
        if let tokens { try Check.within(tokens, 1, 1 << 24, "\(path).tokens") }
        if features != nil && tokens != nil {
            throw ConfigError(path: "\(path).tokens", "give features (values per step) or tokens (a vocabulary of ids per step), not both")
        }
    }

    /// Throws at the first token id that is not an integer in 0..<tokens, naming the file,
    /// the line and the step. `features` is (N, steps).
    func checkTokens(_ features: Tensor, file: String, lines: [Int]) throws {
        guard let tokens else { return }
        for (index, id) in features.scalars.enumerated() where !(id >= 0 && id < Float(tokens) && id == id.rounded(.towardZero)) {
            let (row, step) = index.quotientAndRemainder(dividingBy: steps)
            let line = lines.indices.contains(row) ? lines[row] : row + 1
            throw DataError.unreadable(path: file, reason: "line \(line), step \(step): token id \(id) is not an integer in 0..<\(tokens) (data.sequence.tokens)")
        }
    }
}
