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
}
