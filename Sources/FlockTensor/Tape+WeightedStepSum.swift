extension Tape {
    /// y[b, c] = Σ_t w[b, t] · x[b, t, c]: a weighted sum over a sequence's steps (mean
    /// pooling with 1/T, or 1/kept and 0 on padding). One pass of row updates each way,
    /// where the broadcasting multiply-then-sum it replaces built index tables.
    ///
    /// Shapes: x (B, T, C), weights (B, T) (a constant), y (B, C).
    /// Backward: dx[b, t, c] = w[b, t] · g[b, c].
    public func weightedStepSum(_ x: Variable, weights: Tensor) -> Variable {
        let input = x.value
        precondition(input.shape.count == 3 && weights.shape == Array(input.shape.prefix(2)),
                     "step weights \(weights.shape) for a sequence of shape \(input.shape)")
        let width = input.shape[2]
        var output = Tensor(zeros: [input.shape[0], width])
        output.scalars.withUnsafeMutableBufferPointer { out in
            input.scalars.withUnsafeBufferPointer { px in
                Self.forEachStep(weights) { sample, step, w in
                    let target = out.baseAddress! + sample * width, row = px.baseAddress! + step * width
                    for c in 0..<width { target[c] += w * row[c] }
                }
            }
        }
        return record(output, inputs: [x]) { tape, g in
            let dx = tape.makeTensor(shape: input.shape, uninitializedFill: { out in
                g.scalars.withUnsafeBufferPointer { pg in
                    Self.forEachStep(weights) { sample, step, w in
                        let source = pg.baseAddress! + sample * width, row = out.baseAddress! + step * width
                        for c in 0..<width { row[c] = w * source[c] }
                    }
                }
            })
            tape.accumulate(dx, into: x)
        }
    }

    /// Calls `body(b, b·T + t, w[b, t])` for every step of every sample, in order.
    private static func forEachStep(_ weights: Tensor, _ body: (Int, Int, Float) -> Void) {
        let steps = weights.shape[1]
        weights.scalars.withUnsafeBufferPointer { pw in
            for index in 0..<pw.count { body(index / steps, index, pw[index]) }
        }
    }
}
