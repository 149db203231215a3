/// bfloat16: the upper 16 bits of a Float32 (sign, 8-bit exponent, 7-bit mantissa), so
/// it has Float32's range with about 3 significant digits.
public enum BF16 {
    /// `source` rounded to the nearest bf16 (ties to even), written to `target`; NaN stays NaN.
    public static func convert(_ source: UnsafePointer<Float>, to target: UnsafeMutablePointer<UInt16>, count: Int) {
        var index = 0
        let raw = UnsafeRawPointer(source)
        // 16 lanes at a time, integer arithmetic only: a comparison mask and
        // `replacing(with:where:)` compiled to a per-lane loop through the stack here
        // (most of the bf16 step's time, by perf), so NaN is found by a carry instead.
        while index + 16 <= count {
            let bits = raw.loadUnaligned(fromByteOffset: index * 4, as: SIMD16<UInt32>.self)
            let rounded = (bits &+ 0x7FFF &+ ((bits &>> 16) & 1)) &>> 16
            // Magnitudes above infinity's bits (NaN) carry into bit 31; all ones there.
            let isNaN = 0 &- (((bits & 0x7FFF_FFFF) &+ 0x007F_FFFF) &>> 31)
            let halves = SIMD16<UInt16>(truncatingIfNeeded: (rounded & ~isNaN) | (0x7FC0 & isNaN))
            UnsafeMutableRawPointer(target + index).storeBytes(of: halves, as: SIMD16<UInt16>.self)
            index += 16
        }
        while index < count {
            target[index] = bits(of: source[index])
            index += 1
        }
    }

    /// The bf16 nearest `value` (ties to even), as its 16 bits.
    @inline(__always)
    public static func bits(of value: Float) -> UInt16 {
        guard !value.isNaN else { return 0x7FC0 }
        let bits = value.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// `value` rounded to bf16 and widened back: what a bf16 product sees of it.
    @inline(__always)
    public static func rounded(_ value: Float) -> Float {
        Float(bitPattern: UInt32(bits(of: value)) << 16)
    }
}
