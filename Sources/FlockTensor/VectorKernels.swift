/// Branch-free elementwise kernels on SIMD lanes. Written with SIMD types because the
/// compiler turns `x > 0 ? a : b` over plain floats into one branch per element, and a
/// ReLU's sign pattern is close to random: the mispredictions cost more than the work.
/// Each loop does 8 lanes at a time, then the tail one by one with the same rule.
enum VectorKernels {
    /// x ← x > 0 ? x : 0, in place (NaN becomes 0, as `max(x, 0)` written that way does).
    static func relu(_ x: UnsafeMutableBufferPointer<Float>) {
        guard let base = x.baseAddress else { return }
        let raw = UnsafeMutableRawPointer(base), zero = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= x.count {
            let v = raw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            raw.storeBytes(of: zero.replacing(with: v, where: v .> zero), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < x.count {
            x[i] = x[i] > 0 ? x[i] : 0
            i += 1
        }
    }

    /// out ← y > 0 ? g : 0: a gradient through a ReLU whose output was `y`.
    static func maskByPositive(_ g: UnsafeBufferPointer<Float>, output y: UnsafeBufferPointer<Float>,
                               into out: UnsafeMutableBufferPointer<Float>) {
        precondition(g.count == y.count && out.count == y.count, "masked gradient of \(g.count) for \(y.count) outputs")
        guard let gBase = g.baseAddress, let yBase = y.baseAddress, let outBase = out.baseAddress else { return }
        let gRaw = UnsafeRawPointer(gBase), yRaw = UnsafeRawPointer(yBase), outRaw = UnsafeMutableRawPointer(outBase)
        let zero = SIMD8<Float>(repeating: 0)
        var i = 0
        while i + 8 <= out.count {
            let gv = gRaw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            let yv = yRaw.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            outRaw.storeBytes(of: zero.replacing(with: gv, where: yv .> zero), toByteOffset: i * 4, as: SIMD8<Float>.self)
            i += 8
        }
        while i < out.count {
            out[i] = y[i] > 0 ? g[i] : 0
            i += 1
        }
    }
}
