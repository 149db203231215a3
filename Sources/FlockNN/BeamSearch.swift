import Foundation

/// Beam search over token sequences (greedy search is width 1), scored by the length
/// normalization of Wu et al. 2016 (GNMT): a finished hypothesis Y scores
/// `log P(Y) / lp(Y)` with `lp(Y) = ((5 + |Y|) / 6)^α`, |Y| counting the end token;
/// α = 0 ranks by log-probability alone.
///
/// Each step extends every live hypothesis by every token and keeps the best `width`
/// extensions by log-probability; an extension ending in the end token among the best
/// `width` finishes (fairseq's and Hugging Face's rule). The search stops once `width`
/// hypotheses have finished or after `maxSteps` tokens (live ones then finish as they are).
/// With width 1 this is greedy decoding exactly; with a width above the number of
/// sequences it is exhaustive (tested against enumeration).
public struct BeamSearch: Sendable {
    public var width: Int
    public var maxSteps: Int
    public var endToken: Int
    /// α of the length penalty.
    public var lengthPenalty: Double

    public init(width: Int, maxSteps: Int, endToken: Int, lengthPenalty: Double = 0.6) {
        precondition(width > 0 && maxSteps > 0, "a beam search needs a width and steps")
        self.width = width
        self.maxSteps = maxSteps
        self.endToken = endToken
        self.lengthPenalty = lengthPenalty
    }

    /// One finished sequence: its tokens (the end token last, unless cut at `maxSteps`).
    public struct Hypothesis: Sendable, Equatable {
        public var tokens: [Int]
        public var logProbability: Double
        public var score: Double
    }

    /// `log P / lp(length)`.
    public func score(logProbability: Double, length: Int) -> Double {
        logProbability / Foundation.pow((5 + Double(length)) / 6, lengthPenalty)
    }

    /// The finished hypotheses, best score first. `next(parents, tokens)` returns the
    /// next-token logits (one row of V per live hypothesis) after each hypothesis
    /// `parents[i]` of the previous call (row i of its state) extended by `tokens[i]`; the
    /// first call has parents [0] and tokens [`start`].
    public func search(start: Int, next: (_ parents: [Int], _ tokens: [Int]) -> [[Float]]) -> [Hypothesis] {
        var live = [(tokens: [Int](), logProbability: 0.0)]
        var parents = [0], fed = [start], finished: [Hypothesis] = []
        for step in 0..<maxSteps {
            let rows = next(parents, fed).map(Self.logSoftmax)
            var candidates: [(parent: Int, token: Int, logProbability: Double)] = []
            for (parent, row) in rows.enumerated() {
                for (token, value) in row.enumerated() { candidates.append((parent, token, live[parent].logProbability + value)) }
            }
            candidates.sort { $0.logProbability > $1.logProbability || ($0.logProbability == $1.logProbability && ($0.parent, $0.token) < ($1.parent, $1.token)) }
            var kept: [(tokens: [Int], logProbability: Double)] = []
            (parents, fed) = ([], [])
            for (rank, candidate) in candidates.enumerated() {
                let tokens = live[candidate.parent].tokens + [candidate.token]
                if candidate.token == endToken {
                    if rank < width { finished.append(finish(tokens, candidate.logProbability)) }
                } else if kept.count < width, step + 1 < maxSteps {
                    kept.append((tokens, candidate.logProbability))
                    parents.append(candidate.parent)
                    fed.append(candidate.token)
                } else if kept.count < width {
                    // Cut at maxSteps: finishes as it is.
                    kept.append((tokens, candidate.logProbability))
                    finished.append(finish(tokens, candidate.logProbability))
                }
                if kept.count == width && rank >= width { break }
            }
            live = kept
            if finished.count >= width || parents.isEmpty { break }
        }
        return finished.sorted { $0.score > $1.score }
    }

    private func finish(_ tokens: [Int], _ logProbability: Double) -> Hypothesis {
        Hypothesis(tokens: tokens, logProbability: logProbability, score: score(logProbability: logProbability, length: tokens.count))
    }

    /// log softmax of one row of logits, in Double.
    static func logSoftmax(_ logits: [Float]) -> [Double] {
        let largest = Double(logits.max() ?? 0)
        let total = logits.reduce(0.0) { $0 + Foundation.exp(Double($1) - largest) }
        let shift = largest + Foundation.log(total)
        return logits.map { Double($0) - shift }
    }
}
