/// The GRU's gates, PyTorch's order (reset r, update z, new n); the reset gate scales the
/// hidden projection of n *after* its bias, as PyTorch and cuDNN do:
///
///     r = σ(x_r + h_r),  z = σ(x_z + h_z),  n = tanh(x_n + r ⊙ h_n)
///     h_t = (1 − z) ⊙ n + z ⊙ h_{t−1} = n + z ⊙ (h_{t−1} − n)
///
/// A sample keeps (r, z, n, h_n), 4 blocks of H. Backward: dn = dh ⊙ (1 − z) through tanh
/// gives d(x_n) and, times r, d(h_n); dr = d(x_n) ⊙ h_n, dz = dh ⊙ (h_{t−1} − n), each
/// through σ; dh_{t−1} gets dh ⊙ z directly besides what flows back through W_hh.
enum GRUKernel: RecurrentKernel {
    static let gates = 3
    static let savedBlocks = 4
    static let separateHiddenGradient = true

    /// In passes over a few rows each, so that each loop vectorizes (as the LSTM's).
    static func forward(_ s: RecurrentForwardStep) {
        let h = s.units, width = 3 * h, stride = 4 * h
        for b in 0..<s.batch {
            let x = s.fromInput + b * width, p = s.fromHidden! + b * width
            let saved = s.saved + b * stride, previous = s.previousHidden + b * h, hidden = s.hidden + b * h
            let (r, z, n, hn) = (saved, saved + h, saved + 2 * h, saved + 3 * h)
            for k in 0..<(2 * h) { saved[k] = x[k] + p[k] }
            FastMath.sigmoid(saved, count: 2 * h)
            hn.update(from: p + 2 * h, count: h)
            let xn = x + 2 * h  // a pointer per block: `2 * h + u` is overflow-checked per element
            for u in 0..<h { n[u] = xn[u] + r[u] * hn[u] }
            FastMath.tanh(n, count: h)
            for u in 0..<h { hidden[u] = n[u] + z[u] * (previous[u] - n[u]) }
        }
    }

    static func backward(_ s: RecurrentBackwardStep) {
        let h = s.units, width = 3 * h, stride = 4 * h
        for b in 0..<s.batch {
            let saved = s.saved + b * stride, dh = s.hiddenGradient + b * h, previous = s.previousHidden + b * h
            let (r, z, n, hn) = (saved, saved + h, saved + 2 * h, saved + 3 * h)
            let dx = s.inputGradient + b * width, dp = s.hiddenProjectionGradient + b * width
            let dPrevious = s.previousHiddenGradient + b * h
            let (dxr, dxz, dxn, dpn) = (dx, dx + h, dx + 2 * h, dp + 2 * h)
            for u in 0..<h { dxn[u] = dh[u] * (1 - z[u]) * (1 - n[u] * n[u]) }
            for u in 0..<h { dxr[u] = dxn[u] * hn[u] * r[u] * (1 - r[u]) }
            for u in 0..<h { dxz[u] = dh[u] * (previous[u] - n[u]) * z[u] * (1 - z[u]) }
            dp.update(from: dx, count: 2 * h)
            for u in 0..<h { dpn[u] = dxn[u] * r[u] }
            for u in 0..<h { dPrevious[u] = dh[u] * z[u] }
        }
    }
}
