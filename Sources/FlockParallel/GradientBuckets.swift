import FlockTensor

/// Gradient buckets: contiguous ranges of the flat gradient buffer, in the order
/// backward finishes their parameters.
///
/// Parameters are registered in forward order and backward finishes them in roughly
/// reverse order, so buckets are cut from the end of the buffer: each bucket is a run of
/// whole parameters ending where the previous bucket started, of at least `bucketBytes`
/// (the last may be smaller). PyTorch DDP's `bucket_cap_mb` plays the same role.
public struct GradientBuckets: Sendable {
    public struct Bucket: Sendable, Equatable {
        /// Elements of the flat gradient buffer.
        public let range: Range<Int>
        /// Slot indices of the parameters in the bucket.
        public let slots: [Int]
    }

    public let buckets: [Bucket]
    /// For each slot index, the bucket that holds it.
    public let bucketOfSlot: [Int]

    public init(slots: [ParameterSlot], bucketBytes: Int) {
        precondition(bucketBytes > 0, "bucket size must be positive")
        var buckets: [Bucket] = []
        var bucketOfSlot = [Int](repeating: 0, count: slots.count)
        var current: [ParameterSlot] = []
        func close() {
            guard let first = current.last, let last = current.first else { return }
            for slot in current { bucketOfSlot[slot.index] = buckets.count }
            buckets.append(Bucket(range: first.offset..<(last.offset + last.count), slots: current.map(\.index)))
            current = []
        }
        var bytes = 0
        for slot in slots.reversed() {
            current.append(slot)
            bytes += slot.count * MemoryLayout<Float>.stride
            if bytes >= bucketBytes { close(); bytes = 0 }
        }
        close()
        self.buckets = buckets
        self.bucketOfSlot = bucketOfSlot
    }
}
