import FlockTensor
import Testing
@testable import FlockData

/// Generated pairs and triplets: partners of the class promised, never the anchor, drawn
/// from every candidate, and a function of (seed, epoch, anchor) alone.
@Suite struct PartnerSamplerTests {
    /// Classes of 3, 1 (sample 3), 4 and 2 samples, interleaved.
    static let labels: [Float] = [0, 2, 0, 1, 2, 3, 2, 0, 3, 2]

    @Test func pairsHaveTheFlagOfTheirLabelsAndNeverTheAnchor() {
        let sampler = PartnerSampler(labels: Self.labels, tuple: .pairs(positiveFraction: 0.5), seed: 7)
        var same = 0, draws = 0
        for epoch in 0..<400 {
            for anchor in Self.labels.indices where anchor != 3 {
                let (partners, flag) = sampler.partners(of: anchor, epoch: epoch)
                #expect(partners.count == 1 && partners[0] != anchor)
                #expect(flag == (Self.labels[partners[0]] == Self.labels[anchor]), "anchor \(anchor) epoch \(epoch): \(partners)")
                same += flag ? 1 : 0
                draws += 1
            }
        }
        // 3,600 draws at p = 0.5: the share is within 4 standard deviations (0.033) of it.
        #expect(abs(Double(same) / Double(draws) - 0.5) < 0.033, "\(same) of \(draws) pairs same")
    }

    @Test func tripletsHaveAPositiveThenANegative() {
        let sampler = PartnerSampler(labels: Self.labels, tuple: .triplets, seed: 7)
        for epoch in 0..<200 {
            for anchor in Self.labels.indices where anchor != 3 {
                let partners = sampler.partners(of: anchor, epoch: epoch).partners
                #expect(partners.count == 2)
                #expect(partners[0] != anchor && Self.labels[partners[0]] == Self.labels[anchor])
                #expect(Self.labels[partners[1]] != Self.labels[anchor])
            }
        }
    }

    /// Over many epochs every candidate turns up: the other members of the class as
    /// positives, every sample of another class as negatives (none skipped by an off-by-one).
    @Test func everyCandidatePartnerIsDrawn() {
        let sampler = PartnerSampler(labels: Self.labels, tuple: .triplets, seed: 1)
        for anchor in [0, 2, 7, 1, 9] {
            var positives = Set<Int>(), negatives = Set<Int>()
            for epoch in 0..<300 {
                let partners = sampler.partners(of: anchor, epoch: epoch).partners
                positives.insert(partners[0])
                negatives.insert(partners[1])
            }
            let label = Self.labels[anchor]
            #expect(positives == Set(Self.labels.indices.filter { $0 != anchor && Self.labels[$0] == label }), "anchor \(anchor)")
            #expect(negatives == Set(Self.labels.indices.filter { Self.labels[$0] != label }), "anchor \(anchor)")
        }
    }

    @Test func positiveFractionsZeroAndOneGiveOneKind() {
        for (fraction, expected) in [(Float(0), false), (1, true)] {
            let sampler = PartnerSampler(labels: Self.labels, tuple: .pairs(positiveFraction: fraction), seed: 2)
            let flags = (0..<50).flatMap { epoch in [0, 1, 5].map { sampler.partners(of: $0, epoch: epoch).same } }
            #expect(flags.allSatisfy { $0 == expected }, "fraction \(fraction)")
        }
    }

    /// A batch is anchor rows then partner rows of the base, whatever batch or order the
    /// anchor comes in (so ranks agree); epochs and seeds change the draws.
    @Test func batchesLayOutAnchorAndPartnersAndDependOnlyOnSeedEpochAndAnchor() {
        let labels: [Float] = [0, 2, 0, 2, 2, 3, 2, 0, 3, 2]   // no class of one sample: every anchor may draw
        let base = Dataset(features: Tensor(shape: [10, 2], scalars: (0..<20).map { Float($0) }),
                           targets: Tensor(shape: [10], scalars: labels))
        let samples = PartneredSamples(base: base, sampler: PartnerSampler(labels: labels, tuple: .pairs(positiveFraction: 0.5), seed: 5))
        #expect(samples.featureShape == [4] && samples.targets == base.targets)
        let batch = samples.batch([6, 0, 9], epoch: 3)
        for (row, anchor) in [6, 0, 9].enumerated() {
            let partner = samples.sampler.partners(of: anchor, epoch: 3)
            let expected = [Float(2 * anchor), Float(2 * anchor + 1), Float(2 * partner.partners[0]), Float(2 * partner.partners[0] + 1)]
            #expect(Array(batch.features.scalars[(row * 4)..<(row * 4 + 4)]) == expected)
            #expect(batch.targets.scalars[row] == (partner.same ? 1 : 0))
            let alone = samples.batch([anchor], epoch: 3)
            #expect(alone.features.scalars == expected && alone.targets.scalars[0] == batch.targets.scalars[row])
        }
        let everyAnchor = Array(0..<10)
        let epochs = (0..<4).map { samples.batch(everyAnchor, epoch: $0).features.scalars }
        #expect(Set(epochs.map { "\($0)" }).count == 4, "every epoch drew the same partners")
        let reseeded = PartneredSamples(base: base, sampler: PartnerSampler(labels: labels, tuple: .pairs(positiveFraction: 0.5), seed: 6))
        #expect(reseeded.batch(everyAnchor, epoch: 0).features.scalars != epochs[0])
        #expect((try? samples.batch(everyAnchor))?.features.scalars == epochs[0], "without an epoch: epoch 0's draws")
    }

    @Test func aSplitWithoutPartnersSaysWhy() {
        let lonely = PartnerSampler(labels: Self.labels, tuple: .triplets, seed: 0).shortage()
        #expect(lonely == "class 1 has a single sample, and a positive partner must be another sample of the anchor's class")
        #expect(PartnerSampler(labels: Self.labels, tuple: .pairs(positiveFraction: 0), seed: 0).shortage() == nil)
        let single = PartnerSampler(labels: [4, 4, 4], tuple: .pairs(positiveFraction: 0.5), seed: 0).shortage()
        #expect(single == "every sample is of class 4, and a negative partner must be of another class")
        #expect(PartnerSampler(labels: [4, 4, 4], tuple: .pairs(positiveFraction: 1), seed: 0).shortage() == nil)
        #expect(PartnerSampler(labels: [], tuple: .triplets, seed: 0).shortage() == nil)
    }
}
