import Foundation

/// The Matérn 5/2 kernel with automatic relevance determination (one length scale per
/// input dimension), plus observation noise on the diagonal:
///
///     k(x, x') = s · (1 + √5·r + 5r²/3) · exp(−√5·r),   r² = Σ_d θ_d (x_d − x'_d)²
///
/// with θ_d = 1/ℓ_d² the inverse squared length scales and s the signal variance
/// (Rasmussen & Williams, "Gaussian Processes for Machine Learning", eq. 4.17).
struct MaternKernel: Sendable, Equatable {
    /// θ, (d): large θ_d = short length scale = the objective changes fast along d.
    var inverseSquaredLengthScales: [Double]
    /// s: the prior variance of the latent function.
    var scale: Double
    /// σ²: the variance of the observation noise, added on the diagonal only.
    var noise: Double

    /// (1 + √5 r + 5r²/3)·exp(−√5 r) as a function of r².
    @inline(__always)
    static func shape(squaredDistance r2: Double) -> Double {
        let r = (max(r2, 0)).squareRoot()
        return (1 + 5.0.squareRoot() * r + 5.0 / 3.0 * r2) * exp(-5.0.squareRoot() * r)
    }

    /// d shape / d(r²) = −(5/6)(1 + √5 r)·exp(−√5 r): finite at r = 0, so gradients are
    /// taken with respect to r², never r.
    @inline(__always)
    static func shapeDerivative(squaredDistance r2: Double) -> Double {
        let r = (max(r2, 0)).squareRoot()
        return -5.0 / 6.0 * (1 + 5.0.squareRoot() * r) * exp(-5.0.squareRoot() * r)
    }

    /// r² between `a` and `b` (both (d)).
    @inline(__always)
    func squaredDistance(_ a: UnsafeBufferPointer<Double>, _ b: UnsafeBufferPointer<Double>) -> Double {
        var total = 0.0
        for d in 0..<a.count {
            let difference = a[d] - b[d]
            total += inverseSquaredLengthScales[d] * difference * difference
        }
        return total
    }

    /// k(a, b) without noise.
    func covariance(_ a: [Double], _ b: [Double]) -> Double {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in scale * Self.shape(squaredDistance: squaredDistance(a, b)) }
        }
    }
}
