import Testing
@testable import FlockData

@Suite struct WeightedSamplerTests {
    @Test func balancedSamplingDrawsEveryClassAboutEquallyOften() {
        // 900 samples of class 0, 90 of class 1, 10 of class 2.
        let labels = [Float](repeating: 0, count: 900) + [Float](repeating: 1, count: 90) + [Float](repeating: 2, count: 10)
        let sampler = WeightedSampler.balancingClasses(labels)
        var drawn = [0, 0, 0]
        for epoch in 0..<20 {
            let order = sampler.order(epoch: epoch, seed: 9)
            #expect(order.count == labels.count && order.allSatisfy { labels.indices.contains($0) })
            for index in order { drawn[Int(labels[index])] += 1 }
        }
        // 20 000 draws, a third each expected; a uniform order would give 90 %, 9 %, 1 %.
        for count in drawn { #expect(count > 6_000 && count < 7_400, "\(drawn)") }
    }

    @Test func theOrderDependsOnlyOnSeedAndEpoch() {
        let sampler = WeightedSampler(weights: [1, 0, 3])
        #expect(sampler.order(epoch: 2, seed: 5) == sampler.order(epoch: 2, seed: 5))
        #expect(sampler.order(epoch: 2, seed: 5, count: 300) != sampler.order(epoch: 3, seed: 5, count: 300))
        // A zero weight is never drawn.
        #expect(!sampler.order(epoch: 0, seed: 1, count: 1_000).contains(1))
    }
}
