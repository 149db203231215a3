import FlockTensor

/// The order an epoch visits a source's samples in, a function of (seed, epoch) only, so
/// a resumed run and every rank of a data-parallel job compute the same order.
///
/// With `window` set (streaming), positions are cut into windows of that many
/// consecutive samples; an epoch visits the windows in a shuffled order and shuffles the
/// samples within each, so a streamed file is read a window at a time rather than at
/// random. A window as large as the source gives the same order as no window.
public struct SampleOrder: Sendable, Equatable {
    public var count: Int
    public var shuffle: Bool
    public var seed: UInt64
    /// Consecutive samples shuffled together; nil: one window over everything.
    public var window: Int?
    /// Draws each epoch's order with replacement by weight instead of permuting.
    public var sampler: WeightedSampler?

    public init(count: Int, shuffle: Bool = true, seed: UInt64 = 0, window: Int? = nil, sampler: WeightedSampler? = nil) {
        precondition(window.map { $0 > 0 } ?? true, "a shuffle window holds at least one sample")
        self.count = count
        self.shuffle = shuffle
        self.seed = seed
        self.window = window
        self.sampler = sampler
    }

    /// The positions epoch `epoch` visits, in order.
    public func order(epoch: Int) -> [Int] {
        if let sampler { return sampler.order(epoch: epoch, seed: seed, count: count) }
        guard shuffle else { return Array(0..<count) }
        var generator = RandomGenerator(seed: seed, stream: UInt64(epoch) &+ 0xDA7A_0000)
        guard let window, window < count else { return generator.permutation(count) }
        let windows = (count + window - 1) / window
        var order: [Int] = []
        order.reserveCapacity(count)
        for index in generator.permutation(windows) {
            let start = index * window, size = Swift.min(window, count - start)
            order += generator.permutation(size).map { start + $0 }
        }
        return order
    }
}
