import FlockTensor

/// How a graph node joins several inputs into one value.
public enum MergeOp: String, ConfigChoice {
    /// Elementwise sum: every input of one shape.
    case add
    /// Along the last axis: inputs that differ only in their last size.
    case concatenate
    /// Elementwise product: every input of one shape.
    case multiply
    /// The pair distance ‖a − b‖₂ of two (B, D) inputs, (B, 1): a Siamese network's.
    case euclideanDistance = "euclidean_distance"
    /// The pair distance 1 − cos(a, b) of two (B, D) inputs, (B, 1).
    case cosineDistance = "cosine_distance"
    /// The dot product a·b of two (B, D) inputs, (B, 1): a skip-gram's score of a center
    /// word against a context word.
    case dot

    /// The per-sample shape of the merged value; nil when `shapes` cannot be merged.
    public func outputShape(_ shapes: [[Int]]) -> [Int]? {
        let first = shapes[0]
        switch self {
        case .add, .multiply:
            return shapes.allSatisfy { $0 == first } ? first : nil
        case .concatenate:
            guard shapes.allSatisfy({ $0.count == first.count && $0.dropLast() == first.dropLast() }) else { return nil }
            return first.dropLast() + [shapes.reduce(0) { $0 + $1.last! }]
        case .euclideanDistance, .cosineDistance, .dot:
            return shapes.count == 2 && first.count == 1 && shapes[1] == first ? [1] : nil
        }
    }

    /// What `outputShape` asks of the inputs, for errors.
    public var requirement: String {
        switch self {
        case .concatenate: return "inputs that differ only in their last size"
        case .euclideanDistance, .cosineDistance, .dot: return "two inputs of one shape [D]"
        case .add, .multiply: return "inputs of one shape"
        }
    }

    /// Merges (B, shape…) values on their tape.
    public func apply(_ values: [Variable], tape: Tape) -> Variable {
        switch self {
        case .add: return values.dropFirst().reduce(values[0]) { tape.add($0, $1) }
        case .multiply: return values.dropFirst().reduce(values[0]) { tape.multiply($0, $1) }
        case .concatenate: return tape.concatenate(values, axis: values[0].shape.count - 1)
        case .euclideanDistance: return tape.pairDistance(values[0], values[1], metric: .euclidean)
        case .cosineDistance: return tape.pairDistance(values[0], values[1], metric: .cosine)
        case .dot:
            let rows = values[0].shape[0]
            return tape.reshape(tape.sum(tape.multiply(values[0], values[1]), alongAxis: 1), to: [rows, 1])
        }
    }
}
