/// Branch-free exp, logistic σ and tanh, eight values at a time: the recurrent kernels'
/// gates (glibc's `tanhf`/`expf` calls took a quarter of an LSTM step), GELU's derivative
/// and the attention softmax use these. Relative error against the libm functions below
/// 1e-6 for |x| ≤ 87 (FastMathTests; beyond, e^x is clamped, and σ and tanh are within
/// 1e-37 of their limits). A scalar call runs the same lanes on one broadcast value, so a
/// value gives the same bits whichever way it is computed.
enum FastMath {
    /// e^x (Cephes' `expf`): n = round(x·log2 e), r = x − n·ln 2 (two-part ln 2), e^r by a
    /// degree-5 polynomial, times 2^n built in the exponent bits. x is clamped to
    /// [−87.3, 88.3], so 2^n stays a normal Float.
    @inline(__always)
    static func exp(_ value: FloatLanes) -> FloatLanes {
        let x = value.limited(to: -87.3, 88.3)
        // Adding 1.5·2^23 rounds x·log2 e to the nearest integer, which then sits in the
        // low mantissa bits.
        let shifter: Float = 12_582_912
        let shifted = x * 1.442695041 + shifter
        let n = shifted - shifter
        let r = x - n * 0.693359375 + n * 2.12194440e-4
        var p = r * 1.9875691500e-4 + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let er = p * r * r + r + 1
        let exponent = (unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
        return er * unsafeBitCast(exponent, to: FloatLanes.self)
    }

    /// σ(x) = 1/(1 + e^−x), from e^−|x| ≤ 1 on both sides (no overflow), as
    /// `Activation.logistic`.
    @inline(__always)
    static func sigmoid(_ x: FloatLanes) -> FloatLanes {
        let negative = x .< 0
        let e = exp((-x).replacing(with: x, where: negative))
        let s = 1 / (1 + e)
        return s.replacing(with: e * s, where: negative)
    }

    /// tanh x: an odd Taylor polynomial of degree 11 for |x| < 0.3 (where (1 − e)/(1 + e)
    /// would lose digits to cancellation), else sign(x)·(1 − e)/(1 + e) with e = e^−2|x|.
    @inline(__always)
    static func tanh(_ x: FloatLanes) -> FloatLanes {
        let negative = x .< 0
        let a = x.replacing(with: -x, where: negative)
        let e = exp(-2 * a)
        let large = (1 - e) / (1 + e)
        let a2 = a * a
        var p = a2 * (-1382.0 / 155_925) + 62.0 / 2835
        p = p * a2 - 17.0 / 315
        p = p * a2 + 2.0 / 15
        p = p * a2 - 1.0 / 3
        let small = a + a * a2 * p
        let magnitude = large.replacing(with: small, where: a .< 0.3)
        return magnitude.replacing(with: -magnitude, where: negative)
    }

    /// e^x of one value, as a lane of `exp(_: FloatLanes)`.
    @inline(__always)
    static func exp(_ x: Float) -> Float { exp(FloatLanes(repeating: x))[0] }

    /// σ of one value, as a lane of `sigmoid(_: FloatLanes)`.
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float { sigmoid(FloatLanes(repeating: x))[0] }

    /// tanh of one value, as a lane of `tanh(_: FloatLanes)`.
    @inline(__always)
    static func tanh(_ x: Float) -> Float { tanh(FloatLanes(repeating: x))[0] }

    /// σ of `count` floats from `source` into `target` (which may be `source`).
    static func sigmoid(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
        FloatLanes.forEach(count) { target.setLanes(sigmoid(source.lanes(at: $0)), at: $0) } tail: { target[$0] = sigmoid(source[$0]) }
    }

    /// tanh of `count` floats from `source` into `target` (which may be `source`).
    static func tanh(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
        FloatLanes.forEach(count) { target.setLanes(tanh(source.lanes(at: $0)), at: $0) } tail: { target[$0] = tanh(source[$0]) }
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
