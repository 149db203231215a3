import FlockTensor

/// GRU step, PyTorch's gate order (reset r, update z, new n); the reset gate scales the
/// hidden projection of n *after* its bias, as PyTorch and cuDNN do (arithmetic in
/// `GRUKernel`):
///
///     r = σ(x_r + h_r),  z = σ(x_z + h_z),  n = tanh(x_n + r ⊙ h_n)
///     h_t = (1 − z) ⊙ n + z ⊙ h_{t−1} = n + z ⊙ (h_{t−1} − n)
public enum GRUCell: RecurrentCell {
    public static let typeName = "gru"
    public static let gates = 3
    public static let kind = RecurrentCellKind.gru
}
