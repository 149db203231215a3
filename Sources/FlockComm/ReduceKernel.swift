/// The inner loop of every allreduce here: combine one block of all ranks' buffers and
/// write the result back into all of them.
enum ReduceKernel {
    /// For each i in `range`: r = op over p of buffers[p][i], in rank order (so every
    /// backend gets the same bits), then buffers[p][i] = r for every p. Works in
    /// cache-sized pieces, so the sums are still hot when they are written out.
    static func reduceAndPush<T: CommunicatorScalar>(_ buffers: [UnsafeMutablePointer<T>], range: Range<Int>,
                                                     operation: ReduceOperation) {
        let piece = max(1, (64 << 10) / MemoryLayout<T>.stride)
        var start = range.lowerBound
        while start < range.upperBound {
            let length = min(piece, range.upperBound - start)
            reduceAndPush(buffers, offset: start, count: length, operation: operation, ranks: buffers.count)
            start += length
        }
    }

    /// For i in offset..<offset+count: r = op over p of buffers[p][i] (in rank order), then
    /// buffers[p][i] = r for every p.
    @inline(__always)
    private static func reduceAndPush<T: CommunicatorScalar>(_ buffers: [UnsafeMutablePointer<T>], offset: Int,
                                                                count: Int, operation: ReduceOperation, ranks: Int) {
        guard count > 0 else { return }
        if T.self == Float.self, buffers.count == 2, operation == .sum || operation == .average {
            // The hot case (gradients on two ranks): one loop the compiler vectorises.
            let a = UnsafeMutableRawPointer(buffers[0] + offset).assumingMemoryBound(to: Float.self)
            let b = UnsafeMutableRawPointer(buffers[1] + offset).assumingMemoryBound(to: Float.self)
            if operation == .sum {
                for i in 0..<count { let s = a[i] + b[i]; a[i] = s; b[i] = s }
            } else {
                // Divide (not multiply by 1/n) to match LocalCommunicator bit for bit.
                for i in 0..<count { let s = (a[i] + b[i]) / 2; a[i] = s; b[i] = s }
            }
            return
        }
        if T.self == Float.self, operation == .sum || operation == .average {
            let floats = buffers.map { UnsafeMutableRawPointer($0 + offset).assumingMemoryBound(to: Float.self) }
            let owner = floats[0]
            // Accumulate into a small stack-like scratch, then write the result everywhere.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: count) { sums in
                for i in 0..<count { sums[i] = owner[i] }
                for p in 1..<floats.count { let source = floats[p]; for i in 0..<count { sums[i] += source[i] } }
                if operation == .average { let n = Float(ranks); for i in 0..<count { sums[i] /= n } }
                for target in floats { for i in 0..<count { target[i] = sums[i] } }
            }
            return
        }
        for i in offset..<(offset + count) {
            var accumulator = buffers[0][i]
            for p in 1..<buffers.count { accumulator = operation.combine(accumulator, buffers[p][i]) }
            if operation == .average { accumulator = T.divided(accumulator, by: ranks) }
            for buffer in buffers { buffer[i] = accumulator }
        }
    }
}
