import FlockData
import FlockNN

/// `data.pairs: {inputs: [left, right], positive_fraction: 0.5}`: each sample of a split is
/// the anchor of one pair per epoch, its partner drawn from the same split — of its class
/// with probability `positive_fraction` (default 0.5), else of another — and the pair's
/// flag (1 same class, 0 different) is the target: what Keras and PyTorch users build by
/// hand for a contrastive loss. The graph reads the anchor and the partner as its two
/// inputs, named `inputs` (default `left`, `right`).
public struct PairsConfig: Codable, Equatable, Sendable {
    public var inputs: [String]
    public var positiveFraction: Double

    enum CodingKeys: String, CodingKey, CaseIterable {
        case inputs
        case positiveFraction = "positive_fraction"
    }

    public init(inputs: [String] = ["left", "right"], positiveFraction: Double = 0.5) {
        self.inputs = inputs
        self.positiveFraction = positiveFraction
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, owner: "data.pairs")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(inputs: try c.value(.inputs, or: ["left", "right"]), positiveFraction: try c.value(.positiveFraction, or: 0.5))
        guard (0...1).contains(positiveFraction) else {
            throw ConfigError(path: decoder.fieldPath(CodingKeys.positiveFraction), "expected a number in [0, 1], got \(positiveFraction)")
        }
        try GeneratedPartners.checkNames(inputs, count: 2, path: decoder.fieldPath(CodingKeys.inputs))
    }
}

/// `data.triplets: {inputs: [anchor, positive, negative]}`: each sample of a split is the
/// anchor of one triplet per epoch, a positive partner (its class) and a negative one
/// (another class) drawn from the same split, for `{name: triplet, mining: none}` on the
/// three embeddings side by side. The target is the anchor's label.
public struct TripletsConfig: Codable, Equatable, Sendable {
    public var inputs: [String]

    enum CodingKeys: String, CodingKey, CaseIterable { case inputs }

    public init(inputs: [String] = ["anchor", "positive", "negative"]) {
        self.inputs = inputs
    }

    public init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self, owner: "data.triplets")
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(inputs: try c.value(.inputs, or: ["anchor", "positive", "negative"]))
        try GeneratedPartners.checkNames(inputs, count: 3, path: decoder.fieldPath(CodingKeys.inputs))
    }
}
