import FlockTensor

extension ONNXGraphBuilder {
    /// `activation` applied to `x` (softmax along the last axis), as Flock computes it at
    /// inference: GELU exact through Erf, swish as x·σ(x), α defaulting as `Activation.defaultAlpha`.
    mutating func activation(_ x: String, _ activation: Activation, alpha: Float?, name: String) -> String {
        let a = alpha ?? activation.defaultAlpha
        switch activation {
        case .linear: return x
        case .relu: return op("Relu", [x], name: "\(name)/relu")
        case .leakyRelu: return op("LeakyRelu", [x], [ONNXAttribute.float("alpha", a)], name: "\(name)/leaky_relu")
        case .elu: return op("Elu", [x], [ONNXAttribute.float("alpha", a)], name: "\(name)/elu")
        case .sigmoid: return op("Sigmoid", [x], name: "\(name)/sigmoid")
        case .tanh: return op("Tanh", [x], name: "\(name)/tanh")
        case .softmax: return op("Softmax", [x], [ONNXAttribute.int("axis", -1)], name: "\(name)/softmax")
        case .swish: return op("Mul", [x, op("Sigmoid", [x], name: "\(name)/swish_sigmoid")], name: "\(name)/swish")
        case .gelu:
            // 0.5·x·(1 + erf(x/√2)) (Hendrycks & Gimpel 2016), as `GELUKernels`.
            let scaled = op("Mul", [x, constant([Float(0.5).squareRoot()], shape: [], name: "\(name)/inv_sqrt2")], name: "\(name)/gelu_scale")
            let erf = op("Erf", [scaled], name: "\(name)/gelu_erf")
            let onePlus = op("Add", [erf, constant([1], shape: [], name: "\(name)/one")], name: "\(name)/gelu_one_plus")
            let half = op("Mul", [x, constant([0.5], shape: [], name: "\(name)/half")], name: "\(name)/gelu_half")
            return op("Mul", [half, onePlus], name: "\(name)/gelu")
        }
    }
}
