import Foundation

/// Loss functions as tape ops; each returns a scalar (the mean over the batch).
/// `target` tensors never need gradients.
extension Tape {
    /// Mean squared error, mean((p − t)²).
    public func meanSquaredError(_ prediction: Variable, target: Tensor) -> Variable {
        let p = prediction.value
        checkShapes(p, target, "mean squared error")
        let n = Float(Swift.max(p.count, 1))
        let residual = p - target
        let loss = (residual * residual).sum() / n
        return record(Tensor(scalar: loss), inputs: [prediction]) { tape, g in
            tape.accumulate(residual * (2 * g.scalar / n), into: prediction)
        }
    }

    /// Mean absolute error, mean(|p − t|); the subgradient at 0 is 0.
    public func meanAbsoluteError(_ prediction: Variable, target: Tensor) -> Variable {
        let p = prediction.value
        checkShapes(p, target, "mean absolute error")
        let n = Float(Swift.max(p.count, 1))
        let residual = p - target
        let loss = residual.map { Swift.abs($0) }.sum() / n
        return record(Tensor(scalar: loss), inputs: [prediction]) { tape, g in
            let scale = g.scalar / n
            tape.accumulate(residual.map { $0 > 0 ? scale : ($0 < 0 ? -scale : 0) }, into: prediction)
        }
    }

    /// Huber loss: ½r² where |r| ≤ δ, δ(|r| − ½δ) beyond (Huber 1964).
    public func huber(_ prediction: Variable, target: Tensor, delta: Float = 1) -> Variable {
        let p = prediction.value
        checkShapes(p, target, "huber loss")
        let n = Float(Swift.max(p.count, 1))
        let residual = p - target
        let loss = residual.map { r in
            Swift.abs(r) <= delta ? 0.5 * r * r : delta * (Swift.abs(r) - 0.5 * delta)
        }.sum() / n
        return record(Tensor(scalar: loss), inputs: [prediction]) { tape, g in
            let scale = g.scalar / n
            tape.accumulate(residual.map { r in scale * Swift.min(Swift.max(r, -delta), delta) }, into: prediction)
        }
    }

    /// Binary cross-entropy against targets in [0, 1].
    /// With `fromLogits` the input is a logit and the loss is computed stably as
    /// max(z, 0) − z·t + log(1 + e^(−|z|)); otherwise the input is a probability,
    /// clamped to [ε, 1 − ε] with ε = 1e-7 (as Keras does).
    public func binaryCrossEntropy(_ prediction: Variable, target: Tensor, fromLogits: Bool = true) -> Variable {
        let p = prediction.value
        checkShapes(p, target, "binary cross-entropy")
        let n = Float(Swift.max(p.count, 1))
        let epsilon: Float = 1e-7
        let losses: Tensor
        if fromLogits {
            losses = Tensor.zip(p, target) { z, t in Swift.max(z, 0) - z * t + Foundation.log1p(Foundation.exp(-Swift.abs(z))) }
        } else {
            losses = Tensor.zip(p, target) { q, t in
                let c = Swift.min(Swift.max(q, epsilon), 1 - epsilon)
                return -(t * Foundation.log(c) + (1 - t) * Foundation.log(1 - c))
            }
        }
        return record(Tensor(scalar: losses.sum() / n), inputs: [prediction]) { tape, g in
            let scale = g.scalar / n
            let dx: Tensor
            if fromLogits {
                dx = Tensor.zip(p, target) { z, t in scale * (Activation.logistic(z) - t) }
            } else {
                dx = Tensor.zip(p, target) { q, t in
                    guard q > epsilon && q < 1 - epsilon else { return 0 }
                    return scale * (q - t) / (q * (1 - q))
                }
            }
            tape.accumulate(dx, into: prediction)
        }
    }

    /// Softmax followed by cross-entropy against class indices, fused: the gradient is
    /// `softmax − target`, never forming log-probabilities' Jacobian.
    ///
    /// - Parameters:
    ///   - logits: (B, C).
    ///   - labels: B class indices in 0..<C.
    ///   - labelSmoothing: ε; the target puts 1 − ε on the label and ε/C on every class.
    ///   - classWeights: C weights w; as in PyTorch, sample i's loss is weighted by
    ///     w[y_i] (and the smoothing term by w[c]), and the mean divides by Σ w[y_i].
    public func softmaxCrossEntropy(_ logits: Variable, labels: [Int], labelSmoothing: Float = 0,
                                    classWeights: [Float]? = nil) -> Variable {
        let z = logits.value
        precondition(z.rank == 2 && z.shape[0] == labels.count,
                     "softmax cross-entropy needs logits (B, C) and B labels, got \(z.shape) and \(labels.count)")
        let classes = z.shape[1]
        let weights = classWeights ?? [Float](repeating: 1, count: classes)
        precondition(weights.count == classes, "\(weights.count) class weights for \(classes) classes")
        let probabilities = Tensor.softmaxLastAxis(z)
        let epsilon = labelSmoothing
        let weightSum = weights.reduce(0, +)
        var totalLoss = 0.0
        var normalizer = 0.0
        probabilities.scalars.withUnsafeBufferPointer { p in
            for (row, label) in labels.enumerated() {
                precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
                let base = row * classes
                let nll = -Foundation.log(Swift.max(p[base + label], .leastNormalMagnitude))
                var smooth = 0.0
                if epsilon > 0 {
                    for c in 0..<classes {
                        smooth += Double(weights[c]) * Double(-Foundation.log(Swift.max(p[base + c], .leastNormalMagnitude)))
                    }
                }
                totalLoss += Double(1 - epsilon) * Double(weights[label]) * Double(nll) + Double(epsilon) / Double(classes) * smooth
                normalizer += Double(weights[label])
            }
        }
        let loss = normalizer > 0 ? Float(totalLoss / normalizer) : 0
        let norm = Float(normalizer)
        return record(Tensor(scalar: loss), inputs: [logits]) { tape, g in
            guard norm > 0 else { return }
            let scale = g.scalar / norm
            var dz = probabilities
            dz.scalars.withUnsafeMutableBufferPointer { out in
                for (row, label) in labels.enumerated() {
                    let base = row * classes
                    // d/dz of (1−ε)w_y(−log p_y) + ε/C Σ_c w_c(−log p_c)
                    //   = p·((1−ε)w_y + ε/C·Σw) − ((1−ε)w_y e_y + ε/C·w)
                    let total = (1 - epsilon) * weights[label] + epsilon / Float(classes) * weightSum
                    for c in 0..<classes {
                        out[base + c] = out[base + c] * total - epsilon / Float(classes) * weights[c]
                    }
                    out[base + label] -= (1 - epsilon) * weights[label]
                    for c in 0..<classes { out[base + c] *= scale }
                }
            }
            tape.accumulate(dz, into: logits)
        }
    }

    private func checkShapes(_ prediction: Tensor, _ target: Tensor, _ name: String) {
        precondition(prediction.shape == target.shape,
                     "\(name): prediction shape \(prediction.shape) differs from target shape \(target.shape)")
    }
}

extension Tape {
    /// Inverted dropout: zeroes each element with probability `rate` and scales the
    /// rest by 1/(1 − rate), so inference needs no rescaling. Draws from `generator`.
    public func dropout(_ x: Variable, rate: Float, generator: inout RandomGenerator) -> Variable {
        precondition(rate >= 0 && rate < 1, "dropout rate must be in [0, 1), got \(rate)")
        guard rate > 0 else { return x }
        let keepScale = 1 / (1 - rate)
        let mask = Tensor(shape: x.shape, scalars: (0..<x.value.count).map { _ in
            generator.nextUniform() < rate ? 0 : keepScale
        })
        return record(x.value * mask, inputs: [x]) { tape, g in tape.accumulate(g * mask, into: x) }
    }
}
