import Foundation

extension Tape {
    /// Softmax cross-entropy against target distributions (soft targets, e.g. mixup's):
    /// mean over rows of −Σ_c t_c · log softmax(z)_c, fused so the gradient is
    /// (softmax − t) / B. With `labelSmoothing` ε the targets become (1 − ε)·t + ε/C.
    ///
    /// Shapes: logits (B, C), targets (B, C) with rows summing to 1.
    public func softmaxCrossEntropy(_ logits: Variable, targetDistributions targets: Tensor,
                                    labelSmoothing: Float = 0) -> Variable {
        let z = logits.value
        precondition(z.rank == 2 && targets.shape == z.shape,
                     "soft-target cross-entropy needs logits and targets of one shape (B, C), got \(z.shape) and \(targets.shape)")
        let (rows, classes) = (z.shape[0], z.shape[1])
        let smoothed = labelSmoothing > 0 ? targets.map { (1 - labelSmoothing) * $0 + labelSmoothing / Float(classes) } : targets
        let probabilities = Tensor.softmaxLastAxis(z)
        var total = 0.0
        for i in 0..<(rows * classes) where smoothed.scalars[i] != 0 {
            total -= Double(smoothed.scalars[i]) * Double(Foundation.log(Swift.max(probabilities.scalars[i], .leastNormalMagnitude)))
        }
        let count = Float(Swift.max(rows, 1))
        return record(Tensor(scalar: Float(total / Double(count))), inputs: [logits]) { tape, g in
            let scale = g.scalar / count
            tape.accumulate(Tensor.zip(probabilities, smoothed) { p, t in scale * (p - t) }, into: logits)
        }
    }
}
