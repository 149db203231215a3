import FlockTensor

/// The update AdaGrad and RMSprop share: g ← g + λ·p; s ← keep·s + add·g²;
/// p ← p − lr·g / (√s + ε); g ← 0. AdaGrad is (keep 1, add 1), whose products by 1 are
/// exact; RMSprop is (α, 1 − α).
enum SquareScaledUpdate {
    static func apply(_ parameters: ParameterStore, spans: [UpdateSpan], state: inout [Float],
                      keep: Float, add: Float, epsilon eps: Float, weightDecay decay: Float) {
        parameters.withParameters { p in
            parameters.withGradients { g in
                state.withUnsafeMutableBufferPointer { s in
                    for span in spans where !span.range.isEmpty {
                        let lr = span.learningRate, start = span.range.lowerBound
                        // This span's state, indexed as the parameters are.
                        let ps = s.baseAddress! + (span.stateStart - start)
                        let (pp, pg) = (p.baseAddress!, g.baseAddress!)
                        // Eight at a time, as Adam: a scalar square root keeps the loop
                        // scalar; each lane does the tail's operations in its order.
                        FloatLanes.forEach(span.range.count, { j in
                            let i = start + j
                            let grad = pg.lanes(at: i) + decay * pp.lanes(at: i)
                            let square = keep * ps.lanes(at: i) + add * grad * grad
                            ps.setLanes(square, at: i)
                            pp.setLanes(pp.lanes(at: i) - lr * grad / (square.laneSquareRoots() + eps), at: i)
                            pg.setLanes(.zero, at: i)
                        }, tail: { j in
                            let i = start + j
                            let grad = pg[i] + decay * pp[i]
                            ps[i] = keep * ps[i] + add * grad * grad
                            pp[i] -= lr * grad / (ps[i].squareRoot() + eps)
                            pg[i] = 0
                        })
                    }
                }
            }
        }
    }
}
