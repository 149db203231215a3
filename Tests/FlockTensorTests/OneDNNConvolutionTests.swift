import Testing
@testable import FlockTensor

/// One Conv2D call: its geometry on a (3, C, H, W) batch, filters and groups.
struct ConvolutionCase: CustomStringConvertible, Sendable {
    var channels = 4, height = 7, width = 6, kernel = (3, 3), stride = (2, 2)
    var padding = WindowGeometry.Padding.same, filters = 4, groups = 1

    var geometry: WindowGeometry {
        WindowGeometry(channels: channels, height: height, width: width, kernel: kernel, stride: stride, padding: padding)!
    }
    var description: String { "\(channels)×\(height)×\(width) k\(kernel) s\(stride) \(padding) F\(filters) g\(groups)" }

    /// The geometries the layer tests cover (VisionLayerTests): SAME and VALID, odd sizes,
    /// strides with a remainder, grouped, 1×1, non-square and depthwise (SeparableConv2D).
    static let all: [ConvolutionCase] = [
        ConvolutionCase(),
        ConvolutionCase(kernel: (2, 2), stride: (1, 1), padding: .valid, filters: 3),
        ConvolutionCase(padding: .valid, groups: 2),
        ConvolutionCase(kernel: (1, 1), filters: 3),
        ConvolutionCase(kernel: (3, 1), padding: .valid),
        ConvolutionCase(filters: 8, groups: 4),  // depthwise, multiplier 2
        ConvolutionCase(channels: 3, height: 9, width: 9, stride: (1, 1), filters: 16),
    ]

    /// (y, dx, dW, db) of `sum(conv(x) · projection)` on `kernels` (nil: im2col).
    func run(_ kernels: ConvolutionKernels?, relu: Bool) -> [[Float]] {
        let g = geometry, store = ParameterStore()
        let weight = store.register(name: "w", shape: [filters, channels / groups, kernel.0, kernel.1], isDecayed: true)
        let bias = store.register(name: "b", shape: [filters], isDecayed: false)
        store.setValue(randomTensor(weight.shape, seed: 1), of: weight)
        store.setValue(randomTensor([filters], seed: 2), of: bias)
        store.convolutions = kernels
        // Gradients accumulate: start them off zero, as a second micro-batch would.
        for slot in [weight, bias] { store.withGradient(slot) { $0.update(repeating: 0.5) } }
        let tape = Tape(parameters: store)
        let x = tape.leaf(randomTensor([3, channels, height, width], seed: 3))
        let y = tape.convolution2D(x, weight: weight, bias: bias, geometry: g, groups: groups, relu: relu)
        let projection = randomTensor(y.value.shape, seed: 4)
        tape.backward(from: tape.sum(tape.multiply(y, tape.constant(projection))))
        return [y.value.scalars, x.gradient!.scalars, store.gradient(of: weight).scalars, store.gradient(of: bias).scalars]
    }

    /// Kernels that run this case on oneDNN.
    func oneDNN(_ precision: MatrixPrecision) throws -> ConvolutionKernels {
        let kernels = try ConvolutionKernels(precision: precision)
        kernels.choices[ConvolutionShape(geometry: geometry, filters: filters, groups: groups)] = .onednn
        return kernels
    }
}

/// The largest difference over the largest magnitude of `reference`.
func relativeDifference(_ value: [Float], _ reference: [Float]) -> Float {
    let scale = reference.map(abs).max() ?? 0
    return zip(value, reference).map { abs($0 - $1) }.max()! / max(scale, 1e-30)
}

@Suite struct OneDNNConvolutionTests {
    /// oneDNN's forward, input and weight gradients (and the bias gradient beside them)
    /// equal the im2col path's within 1e-4 of their scale.
    @Test(arguments: ConvolutionCase.all, [false, true])
    func float32EqualsIm2col(_ c: ConvolutionCase, relu: Bool) throws {
        let kernels = try c.oneDNN(.float32)
        let im2col = c.run(nil, relu: relu), onednn = c.run(kernels, relu: relu)
        // The run itself made (and so went through) oneDNN's primitive for this shape.
        #expect(kernels.primitivesMade == 1)
        #expect(kernels.convolution(for: ConvolutionShape(geometry: c.geometry, filters: c.filters, groups: c.groups), batch: 3) != nil)
        for (part, name) in ["y", "dx", "dW", "db"].enumerated() {
            #expect(relativeDifference(onednn[part], im2col[part]) < 1e-4, "\(name) of \(c)")
        }
    }

    /// bf16 inputs (x, W, the output gradient) with Float32 accumulation: within what
    /// rounding to 8 significant bits allows of the Float32 result, and not Float32-exact.
    @Test(arguments: ConvolutionCase.all)
    func bf16IsWithinBF16Tolerance(_ c: ConvolutionCase) throws {
        let exact = c.run(nil, relu: false), bf16 = c.run(try c.oneDNN(.bf16), relu: false)
        for (part, name) in ["y", "dx", "dW", "db"].enumerated() {
            #expect(relativeDifference(bf16[part], exact[part]) < 2e-2, "\(name) of \(c)")
        }
        #expect(relativeDifference(bf16[0], exact[0]) > 1e-5, "the forward did not round its inputs to bf16")
    }

    /// Without a choice, Float32 stays on im2col and bf16 goes to oneDNN; every shape
    /// asked about is listed once for the start-up survey, with whether a call needed
    /// its input's gradient.
    @Test func defaultsAndSurvey() throws {
        let shape = ConvolutionShape(geometry: ConvolutionCase().geometry, filters: 4, groups: 1)
        let float32 = try ConvolutionKernels(precision: .float32), bf16 = try ConvolutionKernels(precision: .bf16)
        #expect(float32.kernel(for: shape, inputGradient: false) == .im2col && bf16.kernel(for: shape) == .onednn)
        #expect(float32.shapesNeedingInputGradient.isEmpty && bf16.shapesNeedingInputGradient == [shape])
        _ = float32.kernel(for: shape)
        #expect(float32.seenShapes == [shape] && float32.shapesNeedingInputGradient == [shape])
    }
}
