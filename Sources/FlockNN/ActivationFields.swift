import FlockTensor

/// The fields a weighted layer (dense, conv1d, conv2d) shares with the others of its kind:
/// `activation` (default linear), `alpha` (LeakyReLU slope / ELU scale, ≥ 0), `use_bias`
/// (default true) and `initializer` (default: He for the ReLU family, Glorot otherwise, as
/// Keras does).
struct ActivationFields {
    var activation: Activation
    var alpha: Double?
    var useBias: Bool
    var initializer: Initializer?

    enum Keys: String, CodingKey {
        case activation, alpha, initializer
        case useBias = "use_bias"
    }

    /// Reads the four fields from a layer's config, errors naming the field.
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        alpha = try c.decodeIfPresent(Double.self, forKey: .alpha)
        if let alpha { try Check.nonNegative(alpha, decoder.fieldPath(Keys.alpha)) }
        activation = try Activation.decode(c.decodeIfPresent(String.self, forKey: .activation),
                                           path: decoder.fieldPath(Keys.activation)) ?? .linear
        useBias = try c.value(.useBias, or: true)
        initializer = try Initializer.decode(c.decodeIfPresent(String.self, forKey: .initializer),
                                             path: decoder.fieldPath(Keys.initializer))
    }

    /// The initializer a layer with `activation` draws its weights from when none is named.
    static func defaultInitializer(for activation: Activation) -> Initializer {
        [.relu, .leakyRelu, .elu, .gelu, .swish].contains(activation) ? .heNormal : .xavierUniform
    }
}
