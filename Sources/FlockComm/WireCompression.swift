/// How the part of an allreduce that crosses hosts is put on the wire: Float32 as it is,
/// or rounded to 16 bits (bfloat16 or IEEE half) with error feedback.
///
/// Error feedback: the rank that rounds a value keeps what the rounding lost (the
/// residual) and adds it to the same element before rounding it the next time, so the
/// rounding errors of successive steps cancel instead of adding up (1-bit SGD, Seide et
/// al. 2014; PowerSGD's and DeepSpeed's compressed allreduces do the same).
public enum WireCompression: String, Sendable, CaseIterable, Codable {
    case none
    /// 8 exponent bits (Float32's range), 8 significand bits; rounds to nearest even.
    case bf16
    /// 5 exponent bits (largest finite 65504), 11 significand bits; rounds to nearest even.
    case fp16

    /// Bytes one element takes on the wire.
    public var bytesPerElement: Int { self == .none ? 4 : 2 }

    /// `value` rounded to the 16-bit format, as its bit pattern.
    @inline(__always)
    public func encode(_ value: Float) -> UInt16 {
        switch self {
        case .bf16:
            let bits = value.bitPattern
            // NaN stays a (quiet) NaN; rounding its payload could turn it into infinity.
            if value.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
            // Round to nearest, ties to even, on the 16 bits that are dropped.
            let rounded = bits &+ 0x7FFF &+ ((bits >> 16) & 1)
            return UInt16(truncatingIfNeeded: rounded >> 16)
        case .fp16:
            return Float16(value).bitPattern
        case .none:
            preconditionFailure("no 16-bit encoding without compression")
        }
    }

    /// The Float32 a 16-bit pattern stands for (exact: both formats are subsets of Float32).
    @inline(__always)
    public func decode(_ bits: UInt16) -> Float {
        switch self {
        case .bf16: return Float(bitPattern: UInt32(bits) << 16)
        case .fp16: return Float(Float16(bitPattern: bits))
        case .none: preconditionFailure("no 16-bit encoding without compression")
        }
    }

    /// For each i: v = values[i] + residual[i]; wire[i] = v rounded; residual[i] = v − wire[i].
    /// Returns nothing; `values` is left as it was. A value the format cannot hold (fp16
    /// above 65504) goes out as infinity and its residual is dropped, so one overflow does
    /// not poison every later step of that element.
    public func encode(_ values: UnsafePointer<Float>, residual: UnsafeMutablePointer<Float>,
                       into wire: UnsafeMutablePointer<UInt16>, count: Int) {
        for i in 0..<count {
            let value = values[i] + residual[i]
            let bits = encode(value)
            wire[i] = bits
            let sent = decode(bits)
            residual[i] = sent.isFinite ? value - sent : 0
        }
    }

    /// wire[i] decoded into `values`.
    public func decode(_ wire: UnsafePointer<UInt16>, into values: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { values[i] = decode(wire[i]) }
    }
}
