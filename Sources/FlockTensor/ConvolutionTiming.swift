/// Times each convolution shape on im2col and on oneDNN (forward and both backward
/// parts, as a training step runs them) and picks the faster: what rank 0 does at
/// start-up before broadcasting the choice.
///
/// Not for a test's verdict: timings vary with the machine's load. A kernel other than
/// `ConvolutionKernels.defaultKernel` must be faster by `margin` to be chosen, so close
/// timings do not flip the choice from one run to the next.
public enum ConvolutionTiming {
    /// The fraction by which the non-default kernel must win.
    public static let margin = 0.1

    /// The kernel for each of `shapes` at `batch` samples, on `kernels` (their precision,
    /// threads and primitives) with im2col's products on `products`; the backward-data
    /// pass is timed for the shapes in `inputGradient` only (as the step runs it). Leaves
    /// `kernels.choices` as it found them.
    public static func choose(_ shapes: [ConvolutionShape], batch: Int, kernels: ConvolutionKernels, products: MatrixProducts,
                              inputGradient: Set<ConvolutionShape>, repetitions: Int = 5) -> [ConvolutionShape: ConvolutionKernel] {
        let saved = kernels.choices
        defer { kernels.choices = saved }
        var chosen: [ConvolutionShape: ConvolutionKernel] = [:]
        for shape in shapes {
            guard kernels.convolution(for: shape, batch: batch) != nil else { chosen[shape] = .im2col; continue }
            var seconds: [ConvolutionKernel: Double] = [:]
            for kernel in ConvolutionKernel.allCases {
                kernels.choices[shape] = kernel
                seconds[kernel] = bestSeconds(shape, batch: batch, kernels: kernels, products: products,
                                              inputGradient: inputGradient.contains(shape), repetitions: repetitions)
            }
            let standard = kernels.defaultKernel, other: ConvolutionKernel = standard == .im2col ? .onednn : .im2col
            chosen[shape] = seconds[other]! < seconds[standard]! * (1 - margin) ? other : standard
        }
        return chosen
    }

    /// The fastest of `repetitions` forward-and-backward passes, after one unmeasured
    /// pass (primitive creation, first touch of buffers).
    static func bestSeconds(_ shape: ConvolutionShape, batch: Int, kernels: ConvolutionKernels,
                            products: MatrixProducts, inputGradient: Bool, repetitions: Int) -> Double {
        let store = ParameterStore()
        let weight = store.register(name: "w", shape: [shape.filters, shape.channels / shape.groups, shape.kernelHeight, shape.kernelWidth],
                                    isDecayed: true)
        let bias = store.register(name: "b", shape: [shape.filters], isDecayed: false)
        store.setValue(Tensor(shape: weight.shape) { out in for i in out.indices { out[i] = Float(i % 7) * 0.01 - 0.03 } }, of: weight)
        store.matrixProducts = products
        store.convolutions = kernels
        let input = Tensor(shape: [batch, shape.channels, shape.height, shape.width]) { out in
            for i in out.indices { out[i] = Float(i % 13) * 0.1 - 0.6 }
        }
        let geometry = shape.geometry
        var best = Double.infinity
        for repetition in 0...repetitions {
            let start = ContinuousClock.now
            let tape = Tape(parameters: store)
            let x = inputGradient ? tape.leaf(input) : tape.constant(input)
            let y = tape.convolution2D(x, weight: weight, bias: bias, geometry: geometry, groups: shape.groups)
            tape.backward(from: y, gradient: y.value)
            let elapsed = ContinuousClock.now - start
            if repetition > 0 { best = min(best, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18) }
        }
        return best
    }
}
