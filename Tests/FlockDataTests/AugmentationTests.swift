import FlockTensor
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

    @Test func mixupBlendsEachSampleWithAPartnerAndItsLabel() throws {
        // Sample s: features all equal to s (so a blend reveals λ and the partner), label s mod 3.
        let count = 40
        let dataset = Dataset(features: Tensor(shape: [count, 2], scalars: (0..<count).flatMap { [Float($0), Float($0)] }),
                              targets: Tensor(shape: [count], scalars: (0..<count).map { Float($0 % 3) }))
        let augmentation = Augmentation(mixup: 0.4)
        let samples = [5, 17, 30]
        let (features, targets) = try augmentation.mix(dataset.features.gatherRows(samples), samples: samples, dataset: dataset,
                                                   classCount: 3, epoch: 1, seed: 2)
        #expect(targets.shape == [3, 3])
        for (row, sample) in samples.enumerated() {
            let target = Array(targets.scalars[(row * 3)..<(row * 3 + 3)])
            #expect(abs(target.reduce(0, +) - 1) < 1e-6)
            // Some partner p and weight λ explain both the features and the target.
            let explained = (0..<count).contains { partner in
                let value = features.scalars[row * 2]
                let weight = partner == sample ? 1 : (value - Float(partner)) / Float(sample - partner)
                guard weight >= -1e-5, weight <= 1 + 1e-5, features.scalars[row * 2 + 1] == value else { return false }
                var expected: [Float] = [0, 0, 0]
                expected[sample % 3] += weight
                expected[partner % 3] += 1 - weight
                return zip(expected, target).allSatisfy { abs($0 - $1) < 1e-4 }
            }
            #expect(explained, "row \(row): features \(features.scalars[(row * 2)..<(row * 2 + 2)]), target \(target)")
        }
        // Keyed by sample: alone it mixes the same way.
        let alone = try augmentation.mix(dataset.features.gatherRows([17]), samples: [17], dataset: dataset, classCount: 3, epoch: 1, seed: 2)
        #expect(alone.features.scalars == Array(features.scalars[2..<4]) && alone.targets.scalars == Array(targets.scalars[3..<6]))
    }

    @Test(arguments: [Float(0.2), 1, 2])
    func mixupWeightsFollowBetaAlphaAlpha(alpha: Float) {
        // Beta(α, α): mean 1/2, variance 1 / (4(2α + 1)).
        var generator = RandomGenerator(seed: 9)
        let weights: [Double] = (0..<20_000).map { _ in
            let a = Double(Augmentation.gamma(alpha, &generator)), b = Double(Augmentation.gamma(alpha, &generator))
            return a / (a + b)
        }
        let mean = weights.reduce(0, +) / Double(weights.count)
        let variance = weights.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(weights.count)
        #expect(abs(mean - 0.5) < 0.01, "mean \(mean)")
        #expect(abs(variance - 1 / (4 * (2 * Double(alpha) + 1))) < 0.005, "variance \(variance)")
    }
}
