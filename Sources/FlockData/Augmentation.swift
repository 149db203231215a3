import FlockTensor
import Foundation

/// Random transforms of training samples: horizontal and vertical flips and a random crop
/// of a zero-padded image (images (N, C, H, W)), additive Gaussian noise (any shape), and
/// mixup with soft targets (`mix`).
///
/// Every sample's draws come from its own generator keyed by (seed, epoch, the sample's
/// index in the dataset), so a sample is transformed the same way whichever rank or
/// micro-batch it falls in and however the run was interrupted and resumed: N ranks see
/// what one rank sees, and a resumed run what an uninterrupted one saw.
public struct Augmentation: Sendable, Equatable {
    public var horizontalFlip: Bool
    public var verticalFlip: Bool
    /// Pixels of zero padding on each side before cropping back to H×W at a random offset.
    public var cropPadding: Int
    /// Standard deviation of the added noise (0: none).
    public var noise: Float
    /// Mixup's α: blend weights are drawn from Beta(α, α) (0: no mixup).
    public var mixup: Float

    public init(horizontalFlip: Bool = false, verticalFlip: Bool = false, cropPadding: Int = 0, noise: Float = 0,
                mixup: Float = 0) {
        self.horizontalFlip = horizontalFlip
        self.verticalFlip = verticalFlip
        self.cropPadding = cropPadding
        self.noise = noise
        self.mixup = mixup
    }

    /// Whether a transform needs image-shaped (N, C, H, W) features.
    public var needsImages: Bool { horizontalFlip || verticalFlip || cropPadding > 0 }

    /// `features` with row `i` transformed by the draws of dataset sample `samples[i]` in `epoch`.
    public func apply(_ features: Tensor, samples: [Int], epoch: Int, seed: UInt64) -> Tensor {
        precondition(samples.count == features.shape[0], "\(samples.count) sample indices for \(features.shape[0]) rows")
        precondition(!needsImages || features.rank == 4, "flips and crops need (N, C, H, W) features, got \(features.shape)")
        let rowSize = features.count / Swift.max(features.shape[0], 1)
        var result = features
        result.scalars.withUnsafeMutableBufferPointer { out in
            features.scalars.withUnsafeBufferPointer { source in
                for (row, sample) in samples.enumerated() {
                    var generator = Self.generator(seed: seed, epoch: epoch, sample: sample)
                    let target = UnsafeMutableBufferPointer(rebasing: out[(row * rowSize)..<((row + 1) * rowSize)])
                    if needsImages {
                        transformImage(UnsafeBufferPointer(rebasing: source[(row * rowSize)..<((row + 1) * rowSize)]),
                                       shape: Array(features.shape.dropFirst()), into: target, generator: &generator)
                    }
                    if noise > 0 {
                        for i in target.indices { target[i] += noise * generator.nextNormal() }
                    }
                }
            }
        }
        return result
    }

    /// The generator of one sample in one epoch.
    static func generator(seed: UInt64, epoch: Int, sample: Int) -> RandomGenerator {
        RandomGenerator(seed: seed, stream: 0xA6 << 56 | UInt64(truncatingIfNeeded: epoch) << 32 | UInt64(truncatingIfNeeded: sample))
    }

    /// out[c, y, x] = in[c, y'' , x''] where (y', x') are (y, x) flipped as drawn and
    /// (y'', x'') = (y' + dy − p, x' + dx − p) for a crop offset (dy, dx) in [0, 2p]²;
    /// zero outside the image (the padding).
    private func transformImage(_ image: UnsafeBufferPointer<Float>, shape: [Int], into out: UnsafeMutableBufferPointer<Float>,
                                generator: inout RandomGenerator) {
        let (channels, height, width) = (shape[0], shape[1], shape[2])
        let flipRows = verticalFlip && generator.next() & 1 == 1
        let flipColumns = horizontalFlip && generator.next() & 1 == 1
        let span = UInt64(2 * cropPadding + 1)
        let dy = cropPadding > 0 ? Int(generator.next() % span) - cropPadding : 0
        let dx = cropPadding > 0 ? Int(generator.next() % span) - cropPadding : 0
        for c in 0..<channels {
            for y in 0..<height {
                let sourceRow = (flipRows ? height - 1 - y : y) + dy
                for x in 0..<width {
                    let sourceColumn = (flipColumns ? width - 1 - x : x) + dx
                    let inside = sourceRow >= 0 && sourceRow < height && sourceColumn >= 0 && sourceColumn < width
                    out[(c * height + y) * width + x] = inside ? image[(c * height + sourceRow) * width + sourceColumn] : 0
                }
            }
        }
    }

    /// Mixup (Zhang et al. 2018): row i (dataset sample `samples[i]`) becomes
    /// λ·x_s + (1 − λ)·x_p with a partner p drawn from the whole `dataset` and λ ~ Beta(α, α),
    /// and its target the same blend of the two one-hot labels: targets (B, `classCount`).
    /// Draws are keyed by (seed, epoch, sample), as `apply`'s are.
    public func mix(_ features: Tensor, samples: [Int], dataset: any SampleSource, classCount: Int, epoch: Int,
                    seed: UInt64) throws -> (features: Tensor, targets: Tensor) {
        let rowSize = features.count / Swift.max(features.shape[0], 1)
        let draws = samples.map { sample in
            var generator = Self.generator(seed: seed ^ 0x3113_0000_0000, epoch: epoch, sample: sample)
            let partner = Int(generator.next() % UInt64(dataset.count))
            let first = Self.gamma(mixup, &generator), second = Self.gamma(mixup, &generator)
            return (partner: partner, weight: first + second > 0 ? first / (first + second) : 1)
        }
        let partners = try dataset.batch(draws.map(\.partner))
        var mixed = features
        var targets = Tensor(zeros: [samples.count, classCount])
        for (row, (sample, draw)) in zip(samples, draws).enumerated() {
            for i in 0..<rowSize {
                let own = mixed.scalars[row * rowSize + i], other = partners.features.scalars[row * rowSize + i]
                mixed.scalars[row * rowSize + i] = draw.weight * own + (1 - draw.weight) * other
            }
            targets.scalars[row * classCount + Int(dataset.targets.scalars[sample])] += draw.weight
            targets.scalars[row * classCount + Int(partners.targets.scalars[row])] += 1 - draw.weight
        }
        return (mixed, targets)
    }

    /// A Gamma(shape, 1) draw (Marsaglia & Tsang 2000; shape < 1 by Gamma(shape + 1)·U^(1/shape)).
    static func gamma(_ shape: Float, _ generator: inout RandomGenerator) -> Float {
        if shape < 1 {
            let u = Swift.max(generator.nextUniform(), .leastNormalMagnitude)
            return gamma(shape + 1, &generator) * Float(pow(Double(u), 1 / Double(shape)))
        }
        let d = Double(shape) - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            let x = Double(generator.nextNormal())
            let v = (1 + c * x) * (1 + c * x) * (1 + c * x)
            guard v > 0 else { continue }
            let u = Double(Swift.max(generator.nextUniform(), .leastNormalMagnitude))
            if log(u) < 0.5 * x * x + d - d * v + d * log(v) { return Float(d * v) }
        }
    }
}
