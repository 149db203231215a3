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

    static func forward(_ s: RecurrentForwardStep) {
        let h = s.units, width = 3 * h, stride = 4 * h
        for b in 0..<s.batch {
            let x = s.fromInput + b * width, p = s.fromHidden + b * width
            let saved = s.saved + b * stride, previous = s.previousHidden + b * h, hidden = s.hidden + b * h
            for u in 0..<h {
                let r = FastMath.sigmoid(x[u] + p[u])
                let z = FastMath.sigmoid(x[h + u] + p[h + u])
                let hn = p[2 * h + u]
                let n = FastMath.tanh(x[2 * h + u] + r * hn)
                saved[u] = r; saved[h + u] = z; saved[2 * h + u] = n; saved[3 * h + u] = hn
                hidden[u] = n + z * (previous[u] - n)
            }
        }
    }

    static func backward(_ s: RecurrentBackwardStep) {
        let h = s.units, width = 3 * h, stride = 4 * h
        for b in 0..<s.batch {
            let saved = s.saved + b * stride, dh = s.hiddenGradient + b * h, previous = s.previousHidden + b * h
            let dx = s.inputGradient + b * width, dp = s.hiddenProjectionGradient + b * width
            let dPrevious = s.previousHiddenGradient + b * h
            for u in 0..<h {
                let (r, z, n, hn) = (saved[u], saved[h + u], saved[2 * h + u], saved[3 * h + u])
                let dn = dh[u] * (1 - z) * (1 - n * n)
                let dr = dn * hn * r * (1 - r)
                let dz = dh[u] * (previous[u] - n) * z * (1 - z)
                dx[u] = dr; dx[h + u] = dz; dx[2 * h + u] = dn
                dp[u] = dr; dp[h + u] = dz; dp[2 * h + u] = dn * r
                dPrevious[u] = dh[u] * z
            }
        }
    }
}
