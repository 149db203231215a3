/// An activation on its own, for models that list it as a separate layer.
public struct ActivationLayer: Layer {
    public let activation: Activation
    public let alpha: Float?
    public let outputShape: [Int]

    public init(_ activation: Activation, alpha: Float? = nil, inputShape: [Int]) {
        self.activation = activation
        self.alpha = alpha
        outputShape = inputShape
    }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        context.tape.activation(input, activation, alpha: alpha)
    }
}
