import Testing
@testable import FlockTensor

/// `segmentNormalization` against its definition computed in Float64 with each element's
/// channel as (i / spatial) % channels: output, input gradient and both parameter
/// gradients, for layer-norm segments (a whole sample) and group-norm ones (part of one),
/// and rows normalized over their channels (Transformers' layer norm, spatial 1: the row
/// kernels, at widths of whole 8-lane blocks, blocks and a tail, and a tail alone).
@Suite struct SegmentNormalizationTests {
    @Test(arguments: [(4, 2, 8), (4, 3, 6), (16, 1, 16), (21, 1, 21), (5, 1, 5)])
    func matchesTheDefinition(channels: Int, spatial: Int, segmentLength: Int) {
        let batch = 3, count = batch * channels * spatial
        let store = ParameterStore()
        let scale = store.register(name: "scale", shape: [channels], isDecayed: false)
        let shift = store.register(name: "shift", shape: [channels], isDecayed: false)
        store.setValue(randomTensor([channels], seed: 1, low: 0.5, high: 2), of: scale)
        store.setValue(randomTensor([channels], seed: 2), of: shift)
        let input = randomTensor([batch, channels, spatial], seed: 3), g = randomTensor([batch, channels, spatial], seed: 4)
        let tape = Tape(parameters: store)
        let x = tape.leaf(input)
        let y = tape.segmentNormalization(x, segmentLength: segmentLength, spatial: spatial, scale: scale, shift: shift)
        tape.backward(from: y, gradient: g)

        let gamma = store.value(of: scale).scalars.map(Double.init), beta = store.value(of: shift).scalars.map(Double.init)
        let xs = input.scalars.map(Double.init), gs = g.scalars.map(Double.init)
        func channel(_ i: Int) -> Int { (i / spatial) % channels }
        var expected = [Double](repeating: 0, count: count), dx = expected
        var dGamma = [Double](repeating: 0, count: channels), dBeta = dGamma
        for start in stride(from: 0, to: count, by: segmentLength) {
            let range = start..<(start + segmentLength), n = Double(segmentLength)
            let mean = range.map { xs[$0] }.reduce(0, +) / n
            let inverse = 1 / (range.map { (xs[$0] - mean) * (xs[$0] - mean) }.reduce(0, +) / n + 1e-5).squareRoot()
            let normalized = range.map { (xs[$0] - mean) * inverse }
            let d = range.map { gamma[channel($0)] * gs[$0] }
            let meanD = d.reduce(0, +) / n, meanDX = zip(d, normalized).map(*).reduce(0, +) / n
            for (k, i) in range.enumerated() {
                expected[i] = gamma[channel(i)] * normalized[k] + beta[channel(i)]
                dx[i] = (d[k] - meanD - normalized[k] * meanDX) * inverse
                dGamma[channel(i)] += gs[i] * normalized[k]
                dBeta[channel(i)] += gs[i]
            }
        }
        func close(_ a: [Float], _ b: [Double]) -> Bool { zip(a, b).allSatisfy { abs(Double($0) - $1) < 1e-4 } }
        #expect(close(y.value.scalars, expected))
        #expect(close(x.gradient!.scalars, dx))
        #expect(close(store.gradient(of: scale).scalars, dGamma))
        #expect(close(store.gradient(of: shift).scalars, dBeta))
    }
}
