import FlockNN

/// `loss: cross_entropy`, `loss: {name: cross_entropy, label_smoothing: 0.1}`, or a
/// weighted sum of terms, each naming the target it reads:
///
/// ```yaml
/// loss:
///   - {name: cross_entropy}
///   - {name: focal, gamma: 2, weight: 0.5}
/// ```
///
/// Kinds come from the `LossRegistry` the loader is given (`userInfo[.lossRegistry]`).
public struct LossConfig: Codable, Equatable, Sendable {
    /// At least one.
    public var terms: [LossTermConfig]

    public init(_ terms: [LossTermConfig] = [LossTermConfig(CrossEntropyLoss())]) {
        self.terms = terms
    }

    enum CodingKeys: String, CodingKey { case terms }

    public init(from decoder: any Decoder) throws {
        if let keyed = try? decoder.container(keyedBy: CodingKeys.self), keyed.contains(.terms) {
            // `loss: {terms: [...]}`: the list form, spelled as a mapping.
            try decoder.rejectUnknownKeys(allowed: [CodingKeys.terms.stringValue], owner: "a loss with terms")
            let terms = try keyed.decode([LossTermConfig].self, forKey: .terms)
            guard !terms.isEmpty else { throw ConfigError(path: decoder.fieldPath(CodingKeys.terms), "expected at least one term") }
            self.init(terms)
        } else if var list = try? decoder.unkeyedContainer() {
            var terms: [LossTermConfig] = []
            while !list.isAtEnd { terms.append(try list.decode(LossTermConfig.self)) }
            guard !terms.isEmpty else {
                throw ConfigError(path: ConfigError.render(decoder.codingPath), "a list of loss terms needs at least one term")
            }
            self.init(terms)
        } else {
            self.init([try LossTermConfig(from: decoder)])
        }
    }

    /// One term as a mapping (as configs have always written it); several as a list.
    public func encode(to encoder: any Encoder) throws {
        if terms.count == 1 { try terms[0].encode(to: encoder) } else { try terms.encode(to: encoder) }
    }

    /// The loss's name: its kind's for one term, each kind's joined by `+` for a sum.
    public var name: String { terms.map(\.kind.name).joined(separator: "+") }
    /// The distillation term's teacher checkpoint, if the loss has one; setting it sets
    /// every distillation term's.
    public var teacher: String? {
        get { terms.lazy.compactMap { ($0.kind as? DistillationLoss)?.teacher }.first }
        set {
            for index in terms.indices {
                guard var distillation = terms[index].kind as? DistillationLoss else { continue }
                distillation.teacher = newValue
                terms[index].kind = distillation
            }
        }
    }
    /// Whether a term distills a teacher (its training targets carry the teacher's logits).
    public var distills: Bool { terms.contains { $0.kind is DistillationLoss } }
    /// How the first term reads the model's output (values when it compares it with an input).
    public var reading: OutputReading { terms[0].target.isInput ? .values : terms[0].kind.reading }
    public var isClassification: Bool { reading.isClassification }

    /// A term's field path: `loss` for a lone term, `loss[i]` in a list.
    func path(ofTerm index: Int, under path: String) -> String {
        terms.count == 1 ? path : "\(path)[\(index)]"
    }

    /// The loss, after checking every term: its fields, the output and target it names
    /// (a model's `outputs` and `inputs`: a layer list's by default; a term with no
    /// `output:` reads a graph's first), and that terms on one output read it alike: class
    /// logits against class labels cannot be summed with a regression on the same output,
    /// and a term on an input compares values.
    public func makeLoss(path: String, outputs: [String] = [LossTermConfig.modelOutput],
                         inputs: [String] = [LossTarget.features.rawValue]) throws -> Loss {
        var resolved = terms
        for index in resolved.indices where !outputs.contains(LossTermConfig.modelOutput) && resolved[index].output == LossTermConfig.modelOutput {
            resolved[index].output = outputs[0]
        }
        for (index, term) in resolved.enumerated() {
            let termPath = self.path(ofTerm: index, under: path)
            try term.validate(path: termPath, outputs: outputs, inputs: inputs)
            // Binary cross-entropy against an input in [0, 1] is a Bernoulli likelihood per
            // element (a VAE's on min-max pixels); class logits have nothing to compare there.
            if term.target != .targets, term.target.constant == nil, term.kind.reading == .classLogits {
                throw ConfigError(path: "\(termPath).target", "loss '\(term.kind.name)' reads class labels; a term on \(term.target.rawValue) must compare values (mse, mae, huber, binary_cross_entropy)")
            }
            let sameOutput = resolved[..<index].enumerated().filter { $0.element.output == term.output }
            guard let (firstIndex, first) = sameOutput.first, term.kind.reading != first.kind.reading else { continue }
            if term.target == .targets, first.target == .targets {
                throw ConfigError(path: "\(termPath).name", "loss '\(term.kind.name)' reads the output as \(Self.describe(term.kind.reading)) but \(self.path(ofTerm: firstIndex, under: path)) reads it as \(Self.describe(first.kind.reading)); terms on the same output and targets must read it alike")
            }
            throw ConfigError(path: path, "a term on \(term.target == .targets ? first.target.rawValue : term.target.rawValue) and a term on the class labels cannot read the same output '\(term.output)'")
        }
        return Loss(terms: resolved.map(\.term))
    }

    private static func describe(_ reading: OutputReading) -> String {
        switch reading {
        case .classLogits: return "class logits"
        case .binary(let fromLogits): return fromLogits ? "a binary class logit" : "a binary class probability"
        case .values: return "values"
        }
    }
}
