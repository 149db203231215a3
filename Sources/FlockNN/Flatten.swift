/// Flattens every per-sample dimension into one: (B, d1, d2, …) → (B, d1·d2·…).
public struct Flatten: Layer {
    public let outputShape: [Int]

    public init(inputShape: [Int]) {
        outputShape = [inputShape.reduce(1, *)]
    }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        context.tape.reshape(input, to: [input.shape[0]] + outputShape)
    }
}
