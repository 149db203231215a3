/// The LSTM's gates, PyTorch's order (input i, forget f, cell g, output o), each block the
/// sum of its input and hidden projections:
///
///     i = σ(·), f = σ(·), g = tanh(·), o = σ(·)
///     c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)
///
/// A sample keeps (i, f, g, o, c_t, tanh c_t), 6 blocks of H. Backward, with
/// dc = dc_t + dh ⊙ o ⊙ (1 − tanh² c_t): di = dc ⊙ g, df = dc ⊙ c_{t−1}, dg = dc ⊙ i,
/// do = dh ⊙ tanh c_t, each through its nonlinearity's derivative; dc_{t−1} = dc ⊙ f.
enum LSTMKernel: RecurrentKernel {
    static let gates = 4
    static let savedBlocks = 6

    /// In passes over contiguous rows (each nonlinearity from the summed projections into
    /// the saved gates), so that each loop vectorizes.
    static func forward(_ s: RecurrentForwardStep) {
        let h = s.units, width = 4 * h, stride = 6 * h
        for b in 0..<s.batch {
            // Each block by its own pointer: an index like `2 * h + u` is checked for
            // overflow per element, which keeps the loop scalar.
            let i = s.saved + b * stride, f = i + h, g = i + 2 * h, o = i + 3 * h
            let cell = i + 4 * h, tanhCell = i + 5 * h
            let hidden = s.hidden + b * h
            // Each nonlinearity reads the summed projections and writes the saved block.
            let projected = s.fromInput + b * width
            FastMath.sigmoid(projected, into: i, count: 2 * h)
            FastMath.tanh(projected + 2 * h, into: g, count: h)
            FastMath.sigmoid(projected + 3 * h, into: o, count: h)
            if let previous = s.previousSaved.map({ $0 + b * stride + 4 * h }) {
                for u in 0..<h { cell[u] = f[u] * previous[u] + i[u] * g[u] }
            } else {
                for u in 0..<h { cell[u] = i[u] * g[u] }
            }
            FastMath.tanh(cell, into: tanhCell, count: h)
            for u in 0..<h { hidden[u] = o[u] * tanhCell[u] }
        }
    }

    /// In passes over a few rows each (dc in the carry's row, then the gates' gradients,
    /// then dc_{t−1}), so that each loop vectorizes; c_{−1} = 0 is read from a row of zeros.
    static func backward(_ s: RecurrentBackwardStep) {
        let h = s.units, width = 4 * h, stride = 6 * h
        let zeros = [Float](repeating: 0, count: s.previousSaved == nil ? h : 0)
        zeros.withUnsafeBufferPointer { zero in
            for b in 0..<s.batch {
                let saved = s.saved + b * stride, dh = s.hiddenGradient + b * h, dc = s.carry + b * h
                let previousCell = s.previousSaved.map { $0 + b * stride + 4 * h } ?? zero.baseAddress!
                let (i, f, g, o, tanhC) = (saved, saved + h, saved + 2 * h, saved + 3 * h, saved + 5 * h)
                let di = s.inputGradient + b * width, df = di + h, dg = di + 2 * h, dO = di + 3 * h
                for u in 0..<h { dc[u] = dc[u] + dh[u] * o[u] * (1 - tanhC[u] * tanhC[u]) }
                for u in 0..<h { dO[u] = dh[u] * tanhC[u] * o[u] * (1 - o[u]) }
                for u in 0..<h { di[u] = dc[u] * g[u] * i[u] * (1 - i[u]) }
                for u in 0..<h { df[u] = dc[u] * previousCell[u] * f[u] * (1 - f[u]) }
                for u in 0..<h { dg[u] = dc[u] * i[u] * (1 - g[u] * g[u]) }
                for u in 0..<h { dc[u] = dc[u] * f[u] }
                (s.previousHiddenGradient + b * h).update(repeating: 0, count: h)
            }
        }
    }
}
