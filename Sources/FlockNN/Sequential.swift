/// The description of one layer, from which `Sequential` builds it once the input
/// shape is known.
public enum LayerSpec: Sendable, Equatable {
    case dense(units: Int, activation: Activation = .linear, alpha: Float? = nil,
               useBias: Bool = true, initializer: Initializer? = nil)
    case dropout(rate: Float)
    case flatten
    case activation(Activation, alpha: Float? = nil)
}

/// Layers applied in order. Layer `i`'s parameters are named `layers.i.<param>`.
///
/// ```swift
/// let store = ParameterStore()
/// var generator = RandomGenerator(seed: 42)
/// let model = Sequential([.dense(units: 128, activation: .relu), .dense(units: 10)],
///                        inputShape: [64], parameters: store, generator: &generator)
/// ```
public struct Sequential {
    public let layers: [any Layer]
    public let inputShape: [Int]
    public var outputShape: [Int] { layers.last?.outputShape ?? inputShape }

    public init(_ specs: [LayerSpec], inputShape: [Int], parameters: ParameterStore,
                generator: inout RandomGenerator) {
        var shape = inputShape
        var built: [any Layer] = []
        for (index, spec) in specs.enumerated() {
            let name = "layers.\(index)"
            let layer: any Layer
            switch spec {
            case let .dense(units, activation, alpha, useBias, initializer):
                layer = Dense(name: name, inputFeatures: shape.reduce(1, *), units: units, activation: activation,
                              activationAlpha: alpha, useBias: useBias, initializer: initializer,
                              parameters: parameters, generator: &generator)
            case let .dropout(rate):
                layer = Dropout(rate: rate, inputShape: shape)
            case .flatten:
                layer = Flatten(inputShape: shape)
            case let .activation(activation, alpha):
                layer = ActivationLayer(activation, alpha: alpha, inputShape: shape)
            }
            shape = layer.outputShape
            built.append(layer)
        }
        layers = built
        self.inputShape = inputShape
    }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        var x = input
        for layer in layers { x = layer.forward(x, context: &context) }
        return x
    }
}
