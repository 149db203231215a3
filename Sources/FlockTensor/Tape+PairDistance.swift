import Foundation

/// How far apart two embeddings are.
public enum PairDistanceMetric: String, Sendable, CaseIterable {
    /// ‖a − b‖₂ (with 1e-12 under the root, so equal rows have a finite gradient).
    case euclidean
    /// 1 − a·b / (‖a‖ ‖b‖).
    case cosine
}

extension Tape {
    /// Row distances of (B, D) `a` and `b` under `metric`, (B, 1); forward and backward
    /// side by side.
    public func pairDistance(_ a: Variable, _ b: Variable, metric: PairDistanceMetric) -> Variable {
        precondition(a.shape == b.shape && a.shape.count == 2, "pair distance of (B, D) rows, got \(a.shape) and \(b.shape)")
        let rows = a.shape[0], width = a.shape[1], va = a.value.scalars, vb = b.value.scalars
        var distances = [Float](repeating: 0, count: rows)
        // Per row: ∂d/∂a (D values); ∂d/∂b is its negation for euclidean, its own for cosine.
        var gradientA = [Float](repeating: 0, count: rows * width), gradientB = gradientA
        for row in 0..<rows {
            let x = va[(row * width)..<((row + 1) * width)], y = vb[(row * width)..<((row + 1) * width)]
            switch metric {
            case .euclidean:
                let d = (zip(x, y).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } + 1e-12).squareRoot()
                distances[row] = d
                for (j, (p, q)) in zip(x, y).enumerated() {
                    gradientA[row * width + j] = (p - q) / d
                    gradientB[row * width + j] = -(p - q) / d
                }
            case .cosine:
                let dot = zip(x, y).reduce(Float(0)) { $0 + $1.0 * $1.1 }
                let na = max(x.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                let nb = max(y.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot(), 1e-12)
                distances[row] = 1 - dot / (na * nb)
                for (j, (p, q)) in zip(x, y).enumerated() {
                    // ∂(a·b/(|a||b|))/∂a = b/(|a||b|) − (a·b)·a/(|a|³|b|)
                    gradientA[row * width + j] = -(q / (na * nb) - dot * p / (na * na * na * nb))
                    gradientB[row * width + j] = -(p / (na * nb) - dot * q / (nb * nb * nb * na))
                }
            }
        }
        let shape = a.shape
        return record(Tensor(shape: [rows, 1], scalars: distances), inputs: [a, b]) { tape, g in
            func scaled(_ local: [Float]) -> Tensor {
                Tensor(shape: shape, scalars: local.enumerated().map { $0.element * g.scalars[$0.offset / width] })
            }
            if a.requiresGradient { tape.accumulate(scaled(gradientA), into: a) }
            if b.requiresGradient { tape.accumulate(scaled(gradientB), into: b) }
        }
    }
}
