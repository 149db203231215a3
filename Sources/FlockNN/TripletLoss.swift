import FlockTensor

/// The triplet loss with in-batch mining (Schroff, Kalenichenko & Philbin, "FaceNet",
/// 2015) on embeddings (B, D) and class labels (B): for an anchor a, a positive p (same
/// label) and a negative n, max(0, d(a, p) − d(a, n) + margin) with d the euclidean
/// distance. `mining: hard` takes each anchor's farthest positive and nearest negative;
/// `semi_hard` takes every anchor–positive pair with the nearest negative farther than
/// the positive (the farthest negative when none is). The loss is the mean over anchors
/// (hard) or pairs (semi_hard) that have both. `mining: none` mines nothing: each output
/// row holds a triplet's three embeddings side by side, [anchor | positive | negative]
/// (PyTorch's `TripletMarginLoss`; `data.triplets` generates them), and the loss is the
/// mean hinge over the rows.
///
/// Under data parallelism the triplets are mined over the global batch: embeddings and
/// labels are gathered from every rank, every rank computes the global loss, and each
/// sends back the gradient of its own rows scaled by (global rows / its rows), so the
/// group's averaged gradient is the global loss's (the value reported stays the loss).
///
/// ```yaml
/// loss: {name: triplet, margin: 1, mining: semi_hard}
/// ```
public struct TripletLoss: GlobalBatchLoss {
    public static let typeName = "triplet"
    public enum Mining: String, ConfigChoice { case hard, semiHard = "semi_hard", given = "none" }

    /// Default 1.
    public var margin: Double?
    /// Default semi_hard.
    public var mining: Mining?

    enum CodingKeys: String, CodingKey, CaseIterable { case margin, mining }

    public init() {}

    public init(margin: Double, mining: Mining) {
        self.margin = margin
        self.mining = mining
    }

    public init(from decoder: any Decoder) throws {
        let c = try Self.container(decoder, CodingKeys.self)
        margin = try c.decodeIfPresent(Double.self, forKey: .margin)
        mining = try c.decodeIfPresent(Mining.self, forKey: .mining)
    }

    public func validate(path: String) throws {
        if let margin { try Check.positive(float: margin, "\(path).margin") }
    }

    public var reading: OutputReading { .values }
    public var readsClassLabels: Bool { true }

    public func checkOutput(width: Int, path: String) throws {
        guard mining == .given, width % 3 != 0 else { return }
        throw ConfigError(path: path, "triplet with mining: none reads each row as three embeddings side by side [anchor | positive | negative]; the output's \(width) values per sample do not split in three")
    }

    public func callAsFunction(_ prediction: Variable, target: Tensor, gather: BatchGather?) -> Variable {
        let rows = prediction.shape[0], width = prediction.value.count / max(rows, 1)
        precondition(target.count == rows, "triplet loss: \(rows) embeddings for \(target.count) labels")
        // Each row with its label as one more column, so one gather carries both.
        var local: [Float] = []
        local.reserveCapacity(rows * (width + 1))
        for row in 0..<rows { local += prediction.value.scalars[(row * width)..<((row + 1) * width)] + [target.scalars[row]] }
        let (all, offset) = gather?.gather(local, width: width + 1) ?? (local, 0)
        let total = all.count / (width + 1)
        let embeddings = (0..<total).flatMap { all[($0 * (width + 1))..<($0 * (width + 1) + width)] }
        let labels = (0..<total).map { all[$0 * (width + 1) + width] }
        let mining = mining ?? .semiHard
        // Given triplets: each row's three embeddings as three rows of a third of its width.
        let (value, gradient) = mining == .given
            ? TripletMining(embeddings: embeddings, labels: [Float](repeating: 0, count: 3 * total), width: width / 3)
                .loss(margin: Float(margin ?? 1), mining: mining)
            : TripletMining(embeddings: embeddings, labels: labels, width: width).loss(margin: Float(margin ?? 1), mining: mining)
        let own = Array(gradient[(offset * width)..<((offset + rows) * width)])
        let scale = Float(total) / Float(max(rows, 1)), shape = prediction.shape
        return prediction.tape.record(Tensor(scalar: value), inputs: [prediction]) { tape, g in
            tape.accumulate(Tensor(shape: shape, scalars: own.map { $0 * g.scalar * scale }), into: prediction)
        }
    }
}
