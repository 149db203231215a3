import Testing
@testable import FlockBench

/// The LSTM bench's ceiling runs the FLOPs of the step it is compared with.
@Suite struct LSTMBenchmarkTests {
    @Test func theCeilingCountsEveryProductOfTheStep() {
        let (b, t, c, h, classes) = (32.0, 32.0, 1.0, 256.0, 3.0)
        // Forward and two backward products each for the input projection of all B·T rows
        // (C → 4H) and the head (H → 3); the recurrent H → 4H over B rows forward and back
        // at every step but the first (h_{−1} = 0), and its weight gradient over those
        // (T − 1)·B rows at once.
        let input = 3 * 2 * b * t * c * 4 * h
        let recurrent = 3 * (t - 1) * 2 * b * h * 4 * h
        let head = 3 * 2 * b * h * classes
        #expect(LSTMBenchmark().flopsPerStep == input + recurrent + head)
        #expect(LSTMBenchmark.stepProducts(batchSize: 32).count == 3 + 2 * 31 + 1 + 3)
    }
}
