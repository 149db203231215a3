/// Gradient clipping over the whole flat gradient buffer (after averaging across ranks,
/// so every rank clips identically).
public enum GradientClipping {
    /// Scales all gradients so their global L2 norm is at most `maxNorm` (Pascanu et
    /// al. 2013; PyTorch's `clip_grad_norm_`). Returns the norm before clipping.
    @discardableResult
    public static func clipByNorm(_ parameters: ParameterStore, maxNorm: Float) -> Float {
        let norm = Float(squaredNorm(parameters).squareRoot())
        scale(parameters, norm: norm, maxNorm: maxNorm)
        return norm
    }

    /// ‖g‖² of the store's gradients, summed in Double.
    public static func squaredNorm(_ parameters: ParameterStore) -> Double {
        parameters.withGradients { $0.reduce(0.0) { $0 + Double($1) * Double($1) } }
    }

    /// Scales all gradients by maxNorm / norm when `norm` (the whole model's, from
    /// every shard) exceeds `maxNorm`, as `clipByNorm` does for one store.
    public static func scale(_ parameters: ParameterStore, norm: Float, maxNorm: Float) {
        guard norm > maxNorm else { return }
        let scale = maxNorm / (norm + 1e-6)
        parameters.withGradients { g in
            for i in 0..<g.count { g[i] *= scale }
        }
    }

    /// Clamps every gradient element to [−limit, limit].
    public static func clipByValue(_ parameters: ParameterStore, limit: Float) {
        parameters.withGradients { g in
            for i in 0..<g.count { g[i] = Swift.min(Swift.max(g[i], -limit), limit) }
        }
    }
}
