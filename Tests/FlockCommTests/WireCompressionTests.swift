import Testing
@testable import FlockComm

/// bf16/fp16 rounding against hand-computed bit patterns, and error feedback.
@Suite struct WireCompressionTests {
    @Test func bf16RoundsToNearestEven() {
        let bf16 = WireCompression.bf16
        #expect(bf16.encode(1) == 0x3F80)
        #expect(bf16.encode(-2.5) == 0xC020)
        // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: the even one, 1.
        #expect(bf16.encode(1 + 0x1p-8) == 0x3F80)
        // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6 (even).
        #expect(bf16.encode(1 + 3 * 0x1p-8) == 0x3F82)
        #expect(bf16.decode(0x3F82) == 1.015625)
        // Just above halfway rounds up.
        #expect(bf16.encode(1 + 0x1p-8 + 0x1p-20) == 0x3F81)
        #expect(bf16.encode(.infinity) == 0x7F80)
        #expect(bf16.encode(.greatestFiniteMagnitude) == 0x7F80)
        #expect(bf16.decode(bf16.encode(.nan)).isNaN)
        // 0.1 = 0x3DCCCCCD: the dropped half 0xCCCD is above 0x8000, so up to 0x3DCD.
        #expect(bf16.encode(0.1) == 0x3DCD)
    }

    @Test func fp16RoundsToNearestEven() {
        let fp16 = WireCompression.fp16
        #expect(fp16.encode(1) == 0x3C00)
        #expect(fp16.encode(65504) == 0x7BFF)
        #expect(fp16.encode(65520) == 0x7C00)
        #expect(fp16.encode(1 + 0x1p-11) == 0x3C00)
        #expect(fp16.encode(1 + 3 * 0x1p-11) == 0x3C02)
        #expect(fp16.encode(0.1) == 0x2E66)
        #expect(fp16.decode(0x2E66) == 0.0999755859375)
    }

    @Test func encodingKeepsWhatRoundingLostAndAddsItNextTime() {
        let bf16 = WireCompression.bf16
        let first: Float = 1 + 3 * 0x1p-8, second: Float = 1 + 0x1p-8
        var values = [first, second]
        var residual: [Float] = [0, 0.25 * 0x1p-7]
        var wire: [UInt16] = [0, 0]
        bf16.encode(&values, residual: &residual, into: &wire, count: 2)
        #expect(wire == [0x3F82, 0x3F81])
        // 1 + 3·2^-8 went out as 1 + 2^-6: 2^-8 too much. With its residual the second is
        // 1 + 3·2^-9, which went out as 1 + 2^-7: 2^-9 too much.
        let lost: [Float] = [-0x1p-8, -0x1p-9]
        #expect(residual == lost)
        #expect(values == [first, second])
    }

    /// Sent values summed over many steps track the true sum only with error feedback:
    /// 0.1003 rounds to 0.10009765625 in bf16 every time, 2.0e-4 short.
    @Test func errorFeedbackKeepsTheSumOfSentValuesOnTheTrueSum() {
        let bf16 = WireCompression.bf16
        let steps = 1000
        var gradient: [Float] = [0.1003, 0.05, -3.3]
        let truth = gradient.map { Double($0) * Double(steps) }
        var residual: [Float] = [0, 0, 0], wire: [UInt16] = [0, 0, 0]
        var withFeedback = [Double](repeating: 0, count: 3), without = [Double](repeating: 0, count: 3)
        for _ in 0..<steps {
            bf16.encode(&gradient, residual: &residual, into: &wire, count: 3)
            for i in 0..<3 { withFeedback[i] += Double(bf16.decode(wire[i])) }
            for i in 0..<3 { without[i] += Double(bf16.decode(bf16.encode(gradient[i]))) }
        }
        // One bf16 unit at 0.1 is 2^-11 ≈ 4.9e-4, at 3.3 2^-6; feedback stays within one.
        #expect(abs(withFeedback[0] - truth[0]) < 0x1p-11)
        #expect(abs(withFeedback[2] - truth[2]) < 0x1p-6)
        #expect(abs(without[0] - truth[0]) > 0.15)
        #expect(abs(withFeedback[1] - truth[1]) < 0x1p-12)
    }

    @Test func anFp16OverflowDropsItsResidual() {
        var values: [Float] = [70000], residual: [Float] = [0], wire: [UInt16] = [0]
        WireCompression.fp16.encode(&values, residual: &residual, into: &wire, count: 1)
        #expect(wire == [0x7C00])
        #expect(residual == [0])
    }
}
