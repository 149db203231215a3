import FlockTensor

/// Partners for a Siamese network's generated pairs and triplets, drawn from one split of
/// labelled samples: for each anchor, a partner of its own class (positive) or of another
/// (negative), uniformly among the split's samples of that kind, never the anchor itself.
///
/// Every anchor's draws come from a generator keyed by (seed, epoch, the anchor's index in
/// the split), as `Augmentation`'s are: an anchor gets the same partners whichever rank or
/// batch it falls in and however the run was interrupted, so `--ranks N` trains on what
/// one rank trains on and a resume is exact.
public struct PartnerSampler: Sendable, Equatable {
    /// What each anchor is given.
    public enum Tuple: Sendable, Equatable {
        /// One partner: of the anchor's class with probability `positiveFraction`, else of
        /// another class; the pair's flag says which (1 same, 0 different).
        case pairs(positiveFraction: Float)
        /// A positive partner, then a negative one.
        case triplets

        /// Samples per tuple: the anchor and its partners.
        public var width: Int {
            switch self {
            case .pairs: return 2
            case .triplets: return 3
            }
        }
    }

    public let tuple: Tuple
    public let seed: UInt64
    /// The split's positions grouped by class, classes in increasing order.
    private let byClass: [Int]
    /// Per class label, its range in `byClass`.
    private let classRanges: [Int: Range<Int>]
    /// Per position, its label and its place in `byClass`.
    private let labels: [Int]
    private let places: [Int]

    /// `labels` (one per position of the split) must be class indices (checked by the caller).
    public init(labels: [Float], tuple: Tuple, seed: UInt64) {
        let classes = labels.map { Int($0) }
        let order = classes.indices.sorted { (classes[$0], $0) < (classes[$1], $1) }
        var ranges: [Int: Range<Int>] = [:], places = [Int](repeating: 0, count: classes.count)
        var start = 0
        for (place, position) in order.enumerated() {
            places[position] = place
            if place + 1 == order.count || classes[order[place + 1]] != classes[position] {
                ranges[classes[position]] = start..<(place + 1)
                start = place + 1
            }
        }
        self.tuple = tuple
        self.seed = seed
        byClass = order
        classRanges = ranges
        self.labels = classes
        self.places = places
    }

    public var count: Int { labels.count }

    /// What the split lacks for the draws `tuple` makes, or nil: a class of one sample
    /// (no positive partner; its label) or a single class (no negative partner).
    public func shortage() -> String? {
        guard !labels.isEmpty else { return nil }
        let needsPositives: Bool, needsNegatives: Bool
        switch tuple {
        case let .pairs(fraction): (needsPositives, needsNegatives) = (fraction > 0, fraction < 1)
        case .triplets: (needsPositives, needsNegatives) = (true, true)
        }
        if needsPositives, let lonely = classRanges.filter({ $0.value.count == 1 }).keys.min() {
            return "class \(lonely) has a single sample, and a positive partner must be another sample of the anchor's class"
        }
        if needsNegatives, classRanges.count == 1 {
            return "every sample is of class \(labels[0]), and a negative partner must be of another class"
        }
        return nil
    }

    /// The partners of the split's sample `anchor` in `epoch` (one for pairs, positive then
    /// negative for triplets), and for pairs whether the partner is of the anchor's class.
    /// The split must have what `shortage()` checks.
    public func partners(of anchor: Int, epoch: Int) -> (partners: [Int], same: Bool) {
        var generator = RandomGenerator(seed: seed, stream: 0xB7 << 56 | UInt64(truncatingIfNeeded: epoch) << 32
                                                            | UInt64(truncatingIfNeeded: anchor))
        switch tuple {
        case let .pairs(fraction):
            let same = generator.nextUniform() < fraction
            return ([same ? positive(of: anchor, &generator) : negative(of: anchor, &generator)], same)
        case .triplets:
            return ([positive(of: anchor, &generator), negative(of: anchor, &generator)], true)
        }
    }

    /// Uniform over the anchor's class without the anchor.
    private func positive(of anchor: Int, _ generator: inout RandomGenerator) -> Int {
        let range = classRanges[labels[anchor]]!
        precondition(range.count > 1, "a positive partner of sample \(anchor) needs another sample of class \(labels[anchor])")
        var place = range.lowerBound + Int(generator.next() % UInt64(range.count - 1))
        if place >= places[anchor] { place += 1 }
        return byClass[place]
    }

    /// Uniform over the samples of every other class.
    private func negative(of anchor: Int, _ generator: inout RandomGenerator) -> Int {
        let own = classRanges[labels[anchor]]!
        precondition(own.count < byClass.count, "a negative partner of sample \(anchor) needs another class than \(labels[anchor])")
        var place = Int(generator.next() % UInt64(byClass.count - own.count))
        if place >= own.lowerBound { place += own.count }
        return byClass[place]
    }
}
