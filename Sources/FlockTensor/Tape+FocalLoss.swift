import Foundation

extension Tape {
    /// Softmax focal loss (Lin et al. 2017, "Focal Loss for Dense Object Detection"):
    /// mean over rows of −(1 − p_y)^γ · log p_y, p = softmax(z). γ = 0 is cross-entropy;
    /// larger γ shrinks the loss of samples already classified well.
    ///
    /// Shapes: logits (B, C), labels B class indices.
    ///
    /// Backward: with L = −(1 − p)^γ log p at p = p_y,
    /// dL/dp = γ(1 − p)^(γ−1) log p − (1 − p)^γ / p, and dp_y/dz_c = p_y (δ_cy − p_c).
    public func focalLoss(_ logits: Variable, labels: [Int], gamma: Float) -> Variable {
        let z = logits.value
        precondition(z.rank == 2 && z.shape[0] == labels.count,
                     "focal loss needs logits (B, C) and B labels, got \(z.shape) and \(labels.count)")
        let (rows, classes) = (z.shape[0], z.shape[1])
        let probabilities = Tensor.softmaxLastAxis(z)
        var total = 0.0
        // dL/dp_y · p_y per row, what the gradient scales (δ − p) by.
        var slopes = [Float](repeating: 0, count: rows)
        for (row, label) in labels.enumerated() {
            precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
            let p = Double(Swift.max(probabilities.scalars[row * classes + label], .leastNormalMagnitude))
            let logP = Foundation.log(p), rest = 1 - p
            total -= Foundation.pow(rest, Double(gamma)) * logP
            let dLdp = (gamma == 0 ? 0 : Double(gamma) * Foundation.pow(rest, Double(gamma) - 1) * logP) - Foundation.pow(rest, Double(gamma)) / p
            slopes[row] = Float(dLdp * p)
        }
        let count = Float(Swift.max(rows, 1))
        return record(Tensor(scalar: Float(total) / count), inputs: [logits]) { tape, g in
            let scale = g.scalar / count
            var dz = probabilities
            dz.scalars.withUnsafeMutableBufferPointer { out in
                for (row, label) in labels.enumerated() {
                    // dL/dz_c = slope · (δ_cy − p_c)
                    let base = row * classes, slope = slopes[row] * scale
                    for c in 0..<classes { out[base + c] = -slope * out[base + c] }
                    out[base + label] += slope
                }
            }
            tape.accumulate(dz, into: logits)
        }
    }

    /// The distillation term of Hinton, Vinyals & Dean (2015), "Distilling the Knowledge
    /// in a Neural Network": T² · KL(softmax(t/T) ‖ softmax(z/T)), mean over rows, for
    /// student logits z and teacher logits t at temperature T. The T² keeps its gradient,
    /// T · (softmax(z/T) − softmax(t/T)), on the scale of a cross-entropy's.
    ///
    /// Shapes: logits (B, C), teacherLogits (B, C).
    public func distillationDivergence(_ logits: Variable, teacherLogits: Tensor, temperature: Float) -> Variable {
        let z = logits.value
        precondition(z.rank == 2 && teacherLogits.shape == z.shape,
                     "distillation needs student and teacher logits of one shape (B, C), got \(z.shape) and \(teacherLogits.shape)")
        let rows = z.shape[0]
        let student = Tensor.softmaxLastAxis(z * (1 / temperature))
        let teacher = Tensor.softmaxLastAxis(teacherLogits * (1 / temperature))
        var total = 0.0
        for i in 0..<student.count where teacher.scalars[i] > 0 {
            let p = Double(teacher.scalars[i]), q = Double(Swift.max(student.scalars[i], .leastNormalMagnitude))
            total += p * (Foundation.log(p) - Foundation.log(q))
        }
        let count = Float(Swift.max(rows, 1))
        let loss = Float(total) * temperature * temperature / count
        return record(Tensor(scalar: loss), inputs: [logits]) { tape, g in
            let scale = g.scalar * temperature / count
            tape.accumulate(Tensor.zip(student, teacher) { q, p in scale * (q - p) }, into: logits)
        }
    }
}
