import FlockTensor

/// A split of labelled samples served as generated pairs or triplets: sample i's features
/// (B, k·F) are its own F values, then each partner's (`PartnerSampler`, drawn from the same
/// split), and its target is the pair's flag (1 same class, 0 different) for pairs or the
/// anchor's label for triplets. A graph model reads each part as a named input.
///
/// `targets` stays the anchors' class labels (what balanced sampling weighs); a batch's
/// targets are what the loss reads. `batch(_:)` without an epoch draws as epoch 0 does, so
/// a validation split is paired the same way every epoch.
public struct PartneredSamples: SampleSource {
    /// The split's samples, already preprocessed.
    public let base: Dataset
    public let sampler: PartnerSampler

    public init(base: Dataset, sampler: PartnerSampler) {
        precondition(base.count == sampler.count, "\(base.count) samples for \(sampler.count) labels")
        self.base = base
        self.sampler = sampler
    }

    public var count: Int { base.count }
    /// Flat rows: the anchor's values, then each partner's.
    public var featureShape: [Int] { [sampler.tuple.width * base.featureShape.reduce(1, *)] }
    public var targets: Tensor { base.targets }

    public func batch(_ positions: [Int]) throws -> Batch { batch(positions, epoch: 0) }

    public func batch(_ positions: [Int], epoch: Int) -> Batch {
        let draws = positions.map { sampler.partners(of: $0, epoch: epoch) }
        let width = base.featureShape.reduce(1, *), parts = sampler.tuple.width
        var features = [Float](repeating: 0, count: positions.count * parts * width)
        base.features.scalars.withUnsafeBufferPointer { source in
            for (row, (anchor, draw)) in zip(positions, draws).enumerated() {
                for (part, sample) in ([anchor] + draw.partners).enumerated() {
                    let start = (row * parts + part) * width
                    features.replaceSubrange(start..<(start + width), with: source[(sample * width)..<((sample + 1) * width)])
                }
            }
        }
        let targets: [Float] = switch sampler.tuple {
        case .pairs: draws.map { $0.same ? 1 : 0 }
        case .triplets: positions.map { base.targets.scalars[$0] }
        }
        return Batch(features: Tensor(shape: [positions.count, parts * width], scalars: features),
                     targets: Tensor(shape: [positions.count], scalars: targets))
    }
}
