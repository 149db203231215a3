/// Inverted dropout (Srivastava et al. 2014): in training each element is zeroed with
/// probability `rate` and survivors are scaled by 1/(1 − rate); at inference it is the identity.
public struct Dropout: Layer {
    public let rate: Float
    public let outputShape: [Int]

    public init(rate: Float, inputShape: [Int]) {
        precondition(rate >= 0 && rate < 1, "dropout rate must be in [0, 1), got \(rate)")
        self.rate = rate
        outputShape = inputShape
    }

    public func forward(_ input: Variable, context: inout ForwardContext) -> Variable {
        guard context.isTraining else { return input }
        return context.tape.dropout(input, rate: rate, generator: &context.generator)
    }
}
