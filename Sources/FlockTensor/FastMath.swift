/// Branch-free exp, logistic σ and tanh for the recurrent kernels' gates, where glibc's
/// `tanhf`/`expf` calls took a quarter of an LSTM step. Relative error against the
/// libm functions below 1e-6 for |x| ≤ 87 (FastMathTests; beyond, e^x is clamped, and σ
/// and tanh are within 1e-37 of their limits), and no call, so the loops over units can
/// be vectorized.
enum FastMath {
    /// e^x: n = round(x·log2 e), r = x − n·ln 2 (two-part ln 2), e^r by Cephes' expf
    /// polynomial, times 2^n built in the exponent bits. x is clamped to [−87.3, 88.3],
    /// so 2^n stays a normal Float.
    @inline(__always)
    static func exp(_ value: Float) -> Float {
        let x = value < -87.3 ? -87.3 : (value > 88.3 ? 88.3 : value)
        // Adding 1.5·2^23 rounds x·log2 e to the nearest integer, which then sits in the
        // low mantissa bits.
        let shifted = x * 1.442695041 + 12_582_912
        let n = shifted - 12_582_912
        let r = x - n * 0.693359375 + n * 2.12194440e-4
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let er = p * r * r + r + 1
        let scale = Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
        return er * scale
    }

    /// σ(x) = 1/(1 + e^−x), from e^−|x| ≤ 1 on both sides (no overflow), as
    /// `Activation.logistic`.
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float {
        let e = exp(x < 0 ? x : -x)
        let s = 1 / (1 + e)
        return x < 0 ? e * s : s
    }

    /// tanh x: an odd Taylor polynomial of degree 11 for |x| < 0.3 (where (1 − e)/(1 + e)
    /// would lose digits to cancellation), else sign(x)·(1 − e)/(1 + e) with e = e^−2|x|.
    @inline(__always)
    static func tanh(_ x: Float) -> Float {
        let a = x < 0 ? -x : x
        let e = exp(-2 * a)
        let large = (1 - e) / (1 + e)
        let a2 = a * a
        var p: Float = -1382.0 / 155_925
        p = p * a2 + 62.0 / 2835
        p = p * a2 - 17.0 / 315
        p = p * a2 + 2.0 / 15
        p = p * a2 - 1.0 / 3
        let small = a + a * a2 * p
        let magnitude = a < 0.3 ? small : large
        return x < 0 ? -magnitude : magnitude
    }

    /// σ of `count` floats from `source` into `target` (which may be `source`).
    static func sigmoid(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
        for k in 0..<count { target[k] = sigmoid(source[k]) }
    }

    /// tanh of `count` floats from `source` into `target` (which may be `source`).
    static func tanh(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
        for k in 0..<count { target[k] = tanh(source[k]) }
    }

    /// σ applied in place to `count` floats.
    static func sigmoid(_ values: UnsafeMutablePointer<Float>, count: Int) {
        sigmoid(values, into: values, count: count)
    }

    /// tanh applied in place to `count` floats.
    static func tanh(_ values: UnsafeMutablePointer<Float>, count: Int) {
        tanh(values, into: values, count: count)
    }
}
