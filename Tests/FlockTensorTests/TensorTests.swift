import Testing
@testable import FlockTensor

@Suite struct TensorTests {
    @Test func broadcastingFollowsNumPyRules() {
        #expect(Tensor.broadcastShape([2, 1, 3], [4, 1]) == [2, 4, 3])
        #expect(Tensor.broadcastShape([3], [2, 3]) == [2, 3])
        #expect(Tensor.broadcastShape([2, 3], [3, 2]) == nil)
        let a = Tensor(shape: [2, 1], scalars: [10, 20])
        let b = Tensor(shape: [3], scalars: [1, 2, 3])
        #expect((a + b).scalars == [11, 12, 13, 21, 22, 23])
        #expect((a + b).summed(toShape: [3]).scalars == [32, 34, 36])
    }

    @Test func copyOnWriteKeepsCopiesIndependent() {
        let a = Tensor(shape: [2], scalars: [1, 2])
        var b = a
        b[0] = 5
        #expect(a.scalars == [1, 2] && b.scalars == [5, 2])
    }

    @Test func sumAlongAxisMatchesLoops() {
        let t = Tensor(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
        #expect(t.sum(alongAxis: 0).scalars == [5, 7, 9])
        #expect(t.sum(alongAxis: 1).scalars == [6, 15])
        #expect(t.argmaxRows() == [2, 2])
    }

    @Test func generatorIsDeterministicPerSeedAndStream() {
        var a = RandomGenerator(seed: 1, stream: 0), b = RandomGenerator(seed: 1, stream: 0)
        var c = RandomGenerator(seed: 1, stream: 1)
        let drawsA = (0..<5).map { _ in a.next() }
        #expect(drawsA == (0..<5).map { _ in b.next() })
        #expect(drawsA != (0..<5).map { _ in c.next() })
        var d = RandomGenerator(seed: 3)
        #expect(Set(d.permutation(100)) == Set(0..<100))
    }

    @Test func normalDrawsHaveUnitVariance() {
        var generator = RandomGenerator(seed: 5)
        let sample = Tensor.normal(shape: [20_000], using: &generator)
        let mean = sample.mean()
        let variance = sample.map { ($0 - mean) * ($0 - mean) }.mean()
        #expect(abs(mean) < 0.03 && abs(variance - 1) < 0.05)
    }
}
