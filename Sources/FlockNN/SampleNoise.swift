import FlockTensor

/// Noise a model draws for its samples (a VAE's ε), keyed by (seed, step, sample index in
/// the dataset, layer path, element): the same sample in the same step draws the same
/// numbers on whichever rank holds it, so `--ranks N` trains as one rank does.
public struct SampleNoise: Sendable, Equatable {
    public let seed: UInt64
    public let step: Int
    /// The dataset index of each row of the batch.
    public let samples: [Int]

    public init(seed: UInt64, step: Int, samples: [Int]) {
        self.seed = seed
        self.step = step
        self.samples = samples
    }

    /// Rows `range` of the batch.
    public func rows(_ range: Range<Int>) -> SampleNoise {
        SampleNoise(seed: seed, step: step, samples: Array(samples[range]))
    }

    /// (rows, width…) standard normals for the layer at `path`; row r draws from sample
    /// `samples[r]`'s positions.
    public func normal(path: String, shape: [Int]) -> Tensor {
        precondition(shape.first == samples.count, "noise for \(shape.first ?? 0) rows but the batch has \(samples.count)")
        let width = shape.dropFirst().reduce(1, *)
        let stream = CounterRandom(seed: seed ^ (UInt64(step) &* 0x9E37_79B9_7F4A_7C15), name: path)
        var scalars = [Float](repeating: 0, count: samples.count * width)
        for (row, sample) in samples.enumerated() {
            for element in 0..<width {
                scalars[row * width + element] = stream.normal(UInt64(sample) &* UInt64(width) &+ UInt64(element))
            }
        }
        return Tensor(shape: shape, scalars: scalars)
    }
}

extension ForwardContext {
    /// Standard normal noise of `shape` for the layer at `path`: keyed by (seed, step,
    /// sample, path) inside a trainer's step, so any number of ranks draws alike; else from
    /// the context's generator.
    public mutating func standardNormal(path: String, shape: [Int]) -> Tensor {
        sampleNoise?.normal(path: path, shape: shape) ?? Tensor.normal(shape: shape, using: &generator)
    }
}
