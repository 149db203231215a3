/// A fully connected layer, `y = activation(x · Wᵀ + b)`.
///
/// Parameters: `<name>.weight` (units, inFeatures), `<name>.bias` (units) — PyTorch's
/// `nn.Linear` layout.
public struct Dense: Layer {
    public let weight: ParameterSlot
    public let bias: ParameterSlot?
    public let activation: Activation
    /// Slope for LeakyReLU, scale for ELU.
    public let activationAlpha: Float?
    public let outputShape: [Int]

    public init(name: String, inputFeatures: Int, units: Int, activation: Activation = .linear,
                activationAlpha: Float? = nil, useBias: Bool = true,
                initializer: Initializer? = nil, parameters: ParameterStore,
                generator: inout RandomGenerator) {
        precondition(inputFeatures > 0 && units > 0, "Dense \(name): sizes must be positive")
        weight = parameters.register(name: "\(name).weight", shape: [units, inputFeatures], isDecayed: true)
        // He initialisation for the ReLU family, Glorot otherwise (Keras' default).
        let chosen = initializer ?? ([.relu, .leakyRelu, .elu, .gelu, .swish].contains(activation) ? .heNormal : .xavierUniform)
        parameters.withParameter(weight) { chosen.fill($0, fanIn: inputFeatures, fanOut: units, generator: &generator) }
        bias = useBias ? parameters.register(name: "\(name).bias", shape: [units], isDecayed: false) : nil
        self.activation = activation
        self.activationAlpha = activationAlpha
        outputShape = [units]
    }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        let tape = context.tape
        let flat = input.shape.count == 2 ? input : tape.reshape(input, to: [input.shape[0], input.value.count / Swift.max(input.shape[0], 1)])
        return tape.activation(tape.linear(flat, weight: weight, bias: bias), activation, alpha: activationAlpha)
    }
}
