import Foundation
import Testing
@testable import FlockTensor

/// The 8-lane GELU and erf against their definitions in Float64 (exp: FastMathTests).
@Suite struct GELUKernelTests {
    /// Every 1/64 over [−12, 12] (whole lanes and a tail of 1).
    static let inputs: [Float] = (-768...768).map { Float($0) / 64 }

    @Test func geluAndItsDerivativeMatchTheDefinition() {
        let x = Self.inputs, g = Self.inputs.indices.map { Float(($0 % 5) - 2) * 0.5 + 0.25 }
        var y = [Float](repeating: .nan, count: x.count), dx = y
        x.withUnsafeBufferPointer { px in
            y.withUnsafeMutableBufferPointer { GELUKernels.forward(px, into: $0) }
            g.withUnsafeBufferPointer { pg in dx.withUnsafeMutableBufferPointer { GELUKernels.backward(px, gradient: pg, into: $0) } }
        }
        for i in x.indices {
            let v = Double(x[i]), cdf = 0.5 * (1 + Foundation.erf(v / 2.0.squareRoot()))
            let pdf = Foundation.exp(-0.5 * v * v) / (2 * Double.pi).squareRoot()
            #expect(abs(Double(y[i]) - v * cdf) <= 2e-6 * max(1, abs(v)), "GELU(\(v)) = \(y[i])")
            #expect(abs(Double(dx[i]) - Double(g[i]) * (cdf + v * pdf)) <= 2e-6, "GELU'(\(v))·\(g[i]) = \(dx[i])")
        }
    }

    @Test func erfMatchesTheDefinition() {
        for start in stride(from: 0, to: Self.inputs.count - 8, by: 8) {
            let lanes = GELUKernels.erf(FloatLanes(Self.inputs[start..<(start + 8)]))
            for lane in 0..<8 { #expect(abs(Double(lanes[lane]) - Foundation.erf(Double(Self.inputs[start + lane]))) <= 3e-7) }
        }
    }
}
