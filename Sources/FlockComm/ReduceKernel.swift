/// The inner loop of every allreduce here: combine one block of all ranks' buffers and
/// write the result back into all of them.
enum ReduceKernel {
    /// target[i] = op over p of sources[p][i] for i in 0..<count, in rank order (average:
    /// the sum divided by the number of sources): a reduce-scatter's own block. Float sums
    /// run in cache-sized pieces as loops the compiler vectorises, each value read and
    /// written once (a copy, a sum pass and a division pass over a whole block read and
    /// wrote it three times).
    static func combine<T: CommunicatorScalar>(_ sources: [UnsafePointer<T>], into target: UnsafeMutablePointer<T>,
                                               count: Int, operation: ReduceOperation) {
        guard count > 0, let first = sources.first else { return }
        if T.self == Float.self, operation == .sum || operation == .average {
            let out = UnsafeMutableRawPointer(target).assumingMemoryBound(to: Float.self)
            let inputs = sources.map { UnsafeRawPointer($0).assumingMemoryBound(to: Float.self) }
            let piece = (64 << 10) / MemoryLayout<Float>.stride
            for start in stride(from: 0, to: count, by: piece) {
                combineFloats(inputs, into: out, offset: start, count: min(piece, count - start), averaging: operation == .average)
            }
            return
        }
        target.update(from: first, count: count)
        for source in sources.dropFirst() { for i in 0..<count { target[i] = operation.combine(target[i], source[i]) } }
        if operation == .average { for i in 0..<count { target[i] = T.divided(target[i], by: sources.count) } }
    }

    /// One piece of `combine` for Floats.
    @inline(__always)
    private static func combineFloats(_ inputs: [UnsafePointer<Float>], into target: UnsafeMutablePointer<Float>,
                                      offset: Int, count: Int, averaging: Bool) {
        let out = target + offset
        if inputs.count == 2 {
            // The hot case (gradients on two ranks). Divide (not multiply by 1/n) to match
            // the other collectives bit for bit.
            let a = inputs[0] + offset, b = inputs[1] + offset
            if averaging {
                for i in 0..<count { out[i] = (a[i] + b[i]) / 2 }
            } else {
                for i in 0..<count { out[i] = a[i] + b[i] }
            }
            return
        }
        out.update(from: inputs[0] + offset, count: count)
        for source in inputs.dropFirst() { let values = source + offset; for i in 0..<count { out[i] += values[i] } }
        if averaging { let n = Float(inputs.count); for i in 0..<count { out[i] /= n } }
    }

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
