import FlockTensor

/// How one parameter's initial values are made: a pure function of (seed, parameter path,
/// element index), so any slice of it can be made on its own — by a pipeline stage or a
/// tensor-parallel rank that holds only that slice — and every layout and every number of
/// ranks starts from the same model.
public struct ParameterInitialization: Sendable, Equatable {
    /// nil: zeros, drawing nothing.
    public var initializer: Initializer?
    public var fanIn: Int
    public var fanOut: Int
    /// The parameter's stream, keyed by (seed, path).
    public var stream: CounterRandom
    /// Flat element ranges set to zero after the draw (an embedding's padding row).
    public var zeroed: [Range<Int>] = []

    public init(initializer: Initializer?, fanIn: Int, fanOut: Int, stream: CounterRandom) {
        self.initializer = initializer
        self.fanIn = fanIn
        self.fanOut = fanOut
        self.stream = stream
    }

    /// Fills `buffer` with elements `offset ..< offset + buffer.count` of the parameter
    /// (flat, row-major).
    public func fill(_ buffer: UnsafeMutableBufferPointer<Float>, from offset: Int = 0) {
        (initializer ?? .zeros).fill(buffer, fanIn: fanIn, fanOut: fanOut, stream: stream, offset: offset)
        let filled = offset..<(offset + buffer.count)
        for range in zeroed where range.overlaps(filled) {
            let local = (Swift.max(range.lowerBound, filled.lowerBound) - offset)..<(Swift.min(range.upperBound, filled.upperBound) - offset)
            UnsafeMutableBufferPointer(rebasing: buffer[local]).update(repeating: 0)
        }
    }
}
