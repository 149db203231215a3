import FlockTensor

/// The contrastive loss of a Siamese network (Hadsell, Chopra & LeCun, "Dimensionality
/// Reduction by Learning an Invariant Mapping", 2006) on a pair distance d (B, 1) (a node
/// with `op: euclidean_distance`) and a pair label y per sample (1: same class, 0: not):
/// mean over pairs of y·d² + (1 − y)·max(0, margin − d)².
///
/// ```yaml
/// loss: {name: contrastive, margin: 1, output: distance}
/// ```
public struct ContrastiveLoss: LossKind {
    public static let typeName = "contrastive"
    /// How far apart a dissimilar pair must be to cost nothing (default 1).
    public var margin: Double?

    enum CodingKeys: String, CodingKey, CaseIterable { case margin }

    public init() {}

    public init(margin: Double) { self.margin = margin }

    public init(from decoder: any Decoder) throws {
        margin = try Self.container(decoder, CodingKeys.self).decodeIfPresent(Double.self, forKey: .margin)
    }

    public func validate(path: String) throws {
        if let margin { try Check.positive(float: margin, "\(path).margin") }
    }

    public var reading: OutputReading { .values }
    /// Pair labels are 0 or 1, read unscaled.
    public var readsClassLabels: Bool { true }

    public func callAsFunction(_ prediction: Variable, target: Tensor) -> Variable {
        let m = Float(margin ?? 1), d = prediction.value.scalars, y = target.scalars
        precondition(d.count == y.count, "contrastive loss: \(d.count) distances for \(y.count) pair labels")
        let count = Float(max(d.count, 1))
        var total: Float = 0
        var local = [Float](repeating: 0, count: d.count)   // ∂loss/∂dᵢ
        for i in d.indices {
            let gap = max(0, m - d[i])
            total += y[i] * d[i] * d[i] + (1 - y[i]) * gap * gap
            local[i] = (2 * y[i] * d[i] - 2 * (1 - y[i]) * gap) / count
        }
        let shape = prediction.shape
        return prediction.tape.record(Tensor(scalar: total / count), inputs: [prediction]) { tape, g in
            tape.accumulate(Tensor(shape: shape, scalars: local.map { $0 * g.scalar }), into: prediction)
        }
    }
}
