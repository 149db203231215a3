import Testing
@testable import FlockData

/// Flips, crops and noise: what each does to an image, and that the draws depend only on
/// (seed, epoch, sample).
@Suite struct AugmentationTests {
    /// One 1×3×3 image per sample: sample s holds 10·s + 1 … 10·s + 9 row by row.
    static func images(_ samples: [Int]) -> Tensor {
        Tensor(shape: [samples.count, 1, 3, 3], scalars: samples.flatMap { s in (1...9).map { Float(10 * s + $0) } })
    }

    static func row(_ tensor: Tensor, _ index: Int) -> [Float] {
        let size = tensor.count / tensor.shape[0]
        return Array(tensor.scalars[(index * size)..<((index + 1) * size)])
    }

    /// The image of `base` shifted so out[y, x] = in[y + dy, x + dx] (zero outside), then
    /// optionally flipped, written out directly.
    static func shifted(_ base: [Float], dy: Int, dx: Int) -> [Float] {
        var result: [Float] = []
        for y in 0..<3 {
            for x in 0..<3 {
                let (sy, sx) = (y + dy, x + dx)
                result.append(sy >= 0 && sy < 3 && sx >= 0 && sx < 3 ? base[sy * 3 + sx] : 0)
            }
        }
        return result
    }

    @Test func flipsGiveTheFourMirrorImagesAndAllOccur() {
        let augmentation = Augmentation(horizontalFlip: true, verticalFlip: true)
        let samples = Array(0..<64)
        let output = augmentation.apply(Self.images(samples), samples: samples, epoch: 0, seed: 3)
        var seen = Set<String>()
        for s in samples {
            let base = Self.row(Self.images([s]), 0)
            let mirrorColumns: [Float] = (0..<9).map { (i: Int) -> Float in base[(i / 3) * 3 + 2 - i % 3] }
            let mirrorRows: [Float] = (0..<9).map { (i: Int) -> Float in base[(2 - i / 3) * 3 + i % 3] }
            let both = Array(base.reversed())
            let variants = ["none": base, "columns": mirrorColumns, "rows": mirrorRows, "both": both]
            let match = variants.first { $0.value == Self.row(output, s) }
            #expect(match != nil, "sample \(s): \(Self.row(output, s))")
            if let match { seen.insert(match.key) }
        }
        #expect(seen == ["none", "columns", "rows", "both"])
    }

    @Test func cropsArePaddedShiftsWithinThePaddingAndAllOccur() {
        let augmentation = Augmentation(cropPadding: 1)
        let samples = Array(0..<90)
        let output = augmentation.apply(Self.images(samples), samples: samples, epoch: 2, seed: 3)
        var seen = Set<[Int]>()
        for s in samples {
            let base = Self.row(Self.images([s]), 0)
            let shifts: [[Int]] = (-1...1).flatMap { (dy: Int) -> [[Int]] in (-1...1).map { (dx: Int) -> [Int] in [dy, dx] } }
            let actual = Self.row(output, s)
            let shift = shifts.first { Self.shifted(base, dy: $0[0], dx: $0[1]) == actual }
            #expect(shift != nil, "sample \(s): \(Self.row(output, s))")
            if let shift { seen.insert(shift) }
        }
        #expect(seen.count == 9)
    }

    @Test func drawsDependOnlyOnSeedEpochAndSample() {
        let augmentation = Augmentation(horizontalFlip: true, cropPadding: 1, noise: 0.1)
        let all = augmentation.apply(Self.images([4, 7, 9]), samples: [4, 7, 9], epoch: 1, seed: 5)
        // Sample 7 alone, or in another batch order: the same result (ranks and resumes agree).
        let alone = augmentation.apply(Self.images([7]), samples: [7], epoch: 1, seed: 5)
        #expect(Self.row(alone, 0) == Self.row(all, 1))
        let reordered = augmentation.apply(Self.images([9, 7]), samples: [9, 7], epoch: 1, seed: 5)
        #expect(Self.row(reordered, 1) == Self.row(all, 1))
        #expect(augmentation.apply(Self.images([4, 7, 9]), samples: [4, 7, 9], epoch: 1, seed: 5) == all)
        #expect(augmentation.apply(Self.images([4, 7, 9]), samples: [4, 7, 9], epoch: 2, seed: 5) != all)
        #expect(augmentation.apply(Self.images([4, 7, 9]), samples: [4, 7, 9], epoch: 1, seed: 6) != all)
    }

    @Test func noiseHasTheGivenStandardDeviation() {
        let augmentation = Augmentation(noise: 0.5)
        let features = Tensor(zeros: [2000, 10])
        let output = augmentation.apply(features, samples: Array(0..<2000), epoch: 0, seed: 1)
        let mean = output.scalars.reduce(0, +) / Float(output.count)
        let variance = output.scalars.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(output.count)
        #expect(abs(mean) < 0.02 && abs(variance.squareRoot() - 0.5) < 0.02, "mean \(mean), deviation \(variance.squareRoot())")
    }
}
