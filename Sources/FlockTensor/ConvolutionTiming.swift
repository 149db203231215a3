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
            let pass = ConvolutionPass(shape, batch: batch, kernels: kernels, products: products,
                                       inputGradient: inputGradient.contains(shape))
            // One unmeasured pass each (primitive creation, first touch of buffers), then the
            // two kernels alternate, so a change in the machine's load hits both alike.
            var best: [ConvolutionKernel: Double] = [:]
            for repetition in 0...repetitions {
                for kernel in ConvolutionKernel.allCases {
                    let seconds = pass.seconds(on: kernel)
                    if repetition > 0 { best[kernel] = min(best[kernel] ?? .infinity, seconds) }
                }
            }
            let standard = kernels.defaultKernel, other: ConvolutionKernel = standard == .im2col ? .onednn : .im2col
            chosen[shape] = best[other]! < best[standard]! * (1 - margin) ? other : standard
        }
        return chosen
    }
}

/// One convolution's forward-and-backward pass on a throwaway store, timed on either kernel.
private struct ConvolutionPass {
    let shape: ConvolutionShape
    let kernels: ConvolutionKernels
    let inputGradient: Bool
    let store = ParameterStore()
    let weight: ParameterSlot, bias: ParameterSlot
    let input: Tensor

    init(_ shape: ConvolutionShape, batch: Int, kernels: ConvolutionKernels, products: MatrixProducts, inputGradient: Bool) {
        (self.shape, self.kernels, self.inputGradient) = (shape, kernels, inputGradient)
        weight = store.register(name: "w", shape: [shape.filters, shape.channels / shape.groups, shape.kernelHeight, shape.kernelWidth],
                                isDecayed: true)
        bias = store.register(name: "b", shape: [shape.filters], isDecayed: false)
        store.setValue(Tensor(shape: weight.shape) { out in for i in out.indices { out[i] = Float(i % 7) * 0.01 - 0.03 } }, of: weight)
        store.matrixProducts = products
        store.convolutions = kernels
        input = Tensor(shape: [batch, shape.channels, shape.height, shape.width]) { out in
            for i in out.indices { out[i] = Float(i % 13) * 0.1 - 0.6 }
        }
    }

    /// Seconds of one pass with `kernel` running the shape.
    func seconds(on kernel: ConvolutionKernel) -> Double {
        kernels.choices[shape] = kernel
        let start = ContinuousClock.now
        let tape = Tape(parameters: store)
        let x = inputGradient ? tape.leaf(input) : tape.constant(input)
        let y = tape.convolution2D(x, weight: weight, bias: bias, geometry: shape.geometry, groups: shape.groups)
        tape.backward(from: y, gradient: y.value)
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}
