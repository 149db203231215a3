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
    static let hasCarry = true

    static func forward(_ s: RecurrentForwardStep) {
        let h = s.units, width = 4 * h, stride = 6 * h
        for b in 0..<s.batch {
            let x = s.fromInput + b * width, r = s.fromHidden + b * width
            let saved = s.saved + b * stride, hidden = s.hidden + b * h
            let previousCell = s.previousSaved.map { $0 + b * stride + 4 * h }
            for u in 0..<h {
                let i = FastMath.sigmoid(x[u] + r[u])
                let f = FastMath.sigmoid(x[h + u] + r[h + u])
                let g = FastMath.tanh(x[2 * h + u] + r[2 * h + u])
                let o = FastMath.sigmoid(x[3 * h + u] + r[3 * h + u])
                let c = (previousCell.map { f * $0[u] } ?? 0) + i * g
                let tanhC = FastMath.tanh(c)
                saved[u] = i; saved[h + u] = f; saved[2 * h + u] = g; saved[3 * h + u] = o
                saved[4 * h + u] = c; saved[5 * h + u] = tanhC
                hidden[u] = o * tanhC
            }
        }
    }

    static func backward(_ s: RecurrentBackwardStep) {
        let h = s.units, width = 4 * h, stride = 6 * h
        for b in 0..<s.batch {
            let saved = s.saved + b * stride, dh = s.hiddenGradient + b * h, carry = s.carry + b * h
            let previousCell = s.previousSaved.map { $0 + b * stride + 4 * h }
            let d = s.inputGradient + b * width
            for u in 0..<h {
                let (i, f, g, o) = (saved[u], saved[h + u], saved[2 * h + u], saved[3 * h + u])
                let tanhC = saved[5 * h + u]
                let dc = carry[u] + dh[u] * o * (1 - tanhC * tanhC)
                let di = dc * g, dg = dc * i, df = dc * (previousCell?[u] ?? 0), dO = dh[u] * tanhC
                carry[u] = dc * f
                d[u] = di * i * (1 - i)
                d[h + u] = df * f * (1 - f)
                d[2 * h + u] = dg * (1 - g * g)
                d[3 * h + u] = dO * o * (1 - o)
            }
            (s.previousHiddenGradient + b * h).update(repeating: 0, count: h)
        }
    }
}
