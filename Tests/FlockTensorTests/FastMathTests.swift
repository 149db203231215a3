import Foundation
import Testing
@testable import FlockTensor

/// The recurrent kernels' exp, σ and tanh against libm's, in Double.
@Suite struct FastMathTests {
    /// Every 1/64 in [−87, 87], every 1/4096 in [−1, 1] (tanh's two formulas meet at 0.3),
    /// and powers of two down to 2^−40.
    static let points: [Float] = (-87 * 64...87 * 64).map { Float($0) / 64 } + (-4096...4096).map { Float($0) / 4096 }
        + (1...40).flatMap { [Float(pow(2.0, -Double($0))), -Float(pow(2.0, -Double($0)))] }

    static func worst(_ fast: (Float) -> Float, _ exact: (Double) -> Double) -> Double {
        points.map { x in
            let reference = exact(Double(x))
            return abs(Double(fast(x)) - reference) / max(abs(reference), 1e-300)
        }.max()!
    }

    @Test func expSigmoidAndTanhAreWithinOnePartInAMillionOfLibm() {
        let exp = Self.worst(FastMath.exp, Foundation.exp)
        let sigmoid = Self.worst(FastMath.sigmoid) { 1 / (1 + Foundation.exp(-$0)) }
        let tanh = Self.worst(FastMath.tanh, Foundation.tanh)
        #expect(exp < 1e-6, "exp \(exp)")
        #expect(sigmoid < 1e-6, "sigmoid \(sigmoid)")
        #expect(tanh < 1e-6, "tanh \(tanh)")
    }

    @Test func theLimitsHoldFarOut() {
        for x: Float in [-1e30, -200, -90, 90, 200, 1e30] {
            #expect(FastMath.tanh(x) == (x < 0 ? -1 : 1))
            #expect(abs(FastMath.sigmoid(x) - (x < 0 ? 0 : 1)) < 1e-37)
        }
        #expect(FastMath.exp(200).isFinite && FastMath.exp(-200) < 1e-37)
    }

    /// Eight lanes at a time, as GELU's derivative and the attention softmax call it.
    @Test func expMatchesTheDefinitionToAFewUlps() {
        let x: [Float] = (-1000...880).map { Float($0) / 10 }  // up to 88; below −87.3 clamped
        for start in stride(from: 0, to: x.count - 8, by: 8) {
            let lanes = FastMath.exp(FloatLanes(x[start..<(start + 8)]))
            for lane in 0..<8 {
                let exact = Foundation.exp(Double(x[start + lane]))
                let tolerance = x[start + lane] < -87.3 ? 1e-37 : 4e-7 * exact
                #expect(abs(Double(lanes[lane]) - exact) <= tolerance, "exp(\(x[start + lane])) = \(lanes[lane])")
            }
        }
    }

    /// The kernels' loops (eight lanes, then a tail) give each value the bits of the scalar call.
    @Test func theLoopsGiveTheScalarCallsBits() {
        let x = stride(from: 0, to: Self.points.count, by: 7).map { Self.points[$0] }  // 2,773: 346 groups of eight and a tail of 5
        var sigmoid = [Float](repeating: 0, count: x.count), tanh = sigmoid
        x.withUnsafeBufferPointer { px in
            sigmoid.withUnsafeMutableBufferPointer { FastMath.sigmoid(px.baseAddress!, into: $0.baseAddress!, count: x.count) }
            tanh.withUnsafeMutableBufferPointer { FastMath.tanh(px.baseAddress!, into: $0.baseAddress!, count: x.count) }
        }
        #expect(sigmoid.map(\.bitPattern) == x.map { FastMath.sigmoid($0).bitPattern })
        #expect(tanh.map(\.bitPattern) == x.map { FastMath.tanh($0).bitPattern })
    }
}
