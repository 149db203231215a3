import Testing
@testable import FlockBench

/// The steady step time leaves the warm-up steps out of the median and the range.
@Suite struct SteadyStepTimeTests {
    @Test func theWarmUpIsLeftOut() throws {
        // A first step ten times the others: with it the median would be 0.45 and the max 4.
        let time = try #require(SteadyStepTime(stepSeconds: [4, 0.5, 0.3, 0.4], warmUp: 1))
        #expect(time.median == 0.4 && time.minimum == 0.3 && time.maximum == 0.5)
        #expect(Array(time.steady) == [0.5, 0.3, 0.4])
        let two = try #require(SteadyStepTime(stepSeconds: [4, 3, 0.2, 0.6], warmUp: 2))
        #expect(two.median == 0.4 && two.minimum == 0.2 && two.maximum == 0.6)
    }

    @Test func noWarmUpKeepsEveryStep() throws {
        let time = try #require(SteadyStepTime(stepSeconds: [1, 2, 3], warmUp: 0))
        #expect(time.median == 2 && time.minimum == 1 && time.maximum == 3)
    }

    @Test func aWarmUpOfEveryStepLeavesNothingToMeasure() {
        #expect(SteadyStepTime(stepSeconds: [1, 2], warmUp: 2) == nil)
        #expect(SteadyStepTime(stepSeconds: [1, 2], warmUp: -1) == nil)
    }
}
