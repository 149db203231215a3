/// `convolution2D` on oneDNN's primitives: the output comes NCHW from the primitive and
/// takes the bias (and ReLU) in place; backward runs the backward-data and
/// backward-weights primitives on the ReLU-masked output gradient, and sums it for the
/// bias gradient.
extension Tape {
    func oneDNNConvolution(_ x: Variable, weight: ParameterSlot, bias: ParameterSlot?, relu: Bool,
                           run: OneDNNConvolutionRun) -> Variable {
        let input = x.value, store = parameters, primitives = run.primitives
        let outputShape = [input.shape[0], run.filters] + primitives.outputPlane
        let biasValues = bias.map { store.value(of: $0).scalars }
        let y = Tensor(shape: outputShape) { out in
            input.scalars.withUnsafeBufferPointer { px in
                store.withParameter(weight) { w in
                    run.kernels.run { stream in primitives.forward(x: px.baseAddress!, weight: w.baseAddress!, into: out.baseAddress!, stream: stream) }
                }
            }
            if let biasValues { Self.addPerChannel(biasValues, to: out, planes: outputShape[0] * run.filters) }
            if relu { VectorKernels.relu(out) }
        }
        let inputNeedsGradient = x.requiresGradient
        let masked = MaskedGradient(relu: relu, output: y)
        let node = recordWithWeights(y, inputBackward: { tape, g in
            guard inputNeedsGradient else { return }
            let dy = masked.gradient(from: g, tape: tape)
            let dx = Tensor(shape: input.shape) { out in
                dy.scalars.withUnsafeBufferPointer { pg in
                    store.withParameter(weight) { w in
                        run.kernels.run { stream in primitives.inputGradient(dy: pg.baseAddress!, weight: w.baseAddress!, into: out.baseAddress!, stream: stream) }
                    }
                }
            }
            tape.accumulate(dx, into: x)
        }, weightBackward: { tape, g in
            // The weight part comes last: a later backward through this node masks afresh.
            defer { masked.forget() }
            let dy = masked.gradient(from: g, tape: tape)
            dy.scalars.withUnsafeBufferPointer { pg in
                input.scalars.withUnsafeBufferPointer { px in
                    tape.accumulateParameterGradient(weight) { dw in
                        run.kernels.run { stream in primitives.accumulateWeightGradient(x: px.baseAddress!, dy: pg.baseAddress!, into: dw.baseAddress!, stream: stream) }
                    }
                }
                if let bias {
                    tape.accumulateParameterGradient(bias) { db in Self.addPlaneSums(of: pg, into: db, batch: outputShape[0]) }
                }
            }
        })
        noteUse(of: weight, atNode: node.id)
        if let bias { noteUse(of: bias, atNode: node.id) }
        return node
    }

    /// Adds `values[c]` to every element of plane `c` of each sample; `out` holds
    /// `planes` planes (B·C), channel-major within a sample.
    private static func addPerChannel(_ values: [Float], to out: UnsafeMutableBufferPointer<Float>, planes: Int) {
        let plane = out.count / planes
        for index in 0..<planes {
            let shift = values[index % values.count], start = out.baseAddress! + index * plane
            for p in 0..<plane { start[p] += shift }
        }
    }

    /// db[c] += the sum of plane c over the batch; g is (B, C, P).
    private static func addPlaneSums(of g: UnsafeBufferPointer<Float>, into db: UnsafeMutableBufferPointer<Float>, batch: Int) {
        let channels = db.count, plane = g.count / (batch * channels)
        for index in 0..<(batch * channels) {
            var total: Float = 0
            for value in UnsafeBufferPointer(start: g.baseAddress! + index * plane, count: plane) { total += value }
            db[index % channels] += total
        }
    }
}

/// What one oneDNN convolution call needs: the rank's kernels (stream, threads) and the
/// primitives for its shape and batch.
struct OneDNNConvolutionRun {
    let kernels: ConvolutionKernels
    let primitives: OneDNNConvolution
    let filters: Int
}
