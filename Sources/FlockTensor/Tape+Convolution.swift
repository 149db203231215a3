/// The 2-D convolution op: im2col over the whole batch, one matrix product per channel
/// group (the store's `matrixProducts`), and bias (and optionally ReLU) in the pass that
/// lays the output out as NCHW — or oneDNN's convolution where the store's
/// `convolutions` runs the shape there. Reads and writes the parameter store in place,
/// as `linear` does.
extension Tape {
    /// `y = conv(x, W) + b`, or its ReLU with `relu: true`; cross-correlation, as every
    /// framework computes it.
    ///
    /// Shapes: x (B, C, H, W); weight (F, C / groups, kh, kw), PyTorch's `nn.Conv2d`
    /// layout; bias (F); y (B, F, OH, OW) with OH, OW from `geometry`. `groups == C`
    /// with F = C·m is a depthwise convolution.
    ///
    /// Backward: the output gradient is ReLU-masked and transposed to (F, B·OH·OW) once
    /// for both parts; dW += gᵀ-block · columnsᵀ per group (weight part); the input part
    /// forms d(columns) = Wᵀ · g per group and folds it back (col2im).
    public func convolution2D(_ x: Variable, weight: ParameterSlot, bias: ParameterSlot?, geometry: WindowGeometry,
                              groups: Int = 1, relu: Bool = false) -> Variable {
        let input = x.value
        let filters = weight.shape[0]
        precondition(input.rank == 4 && input.shape[1] == geometry.channels && input.shape[2] == geometry.height
                     && input.shape[3] == geometry.width,
                     "convolution \(weight.name) expects (B, \(geometry.channels), \(geometry.height), \(geometry.width)), got \(input.shape)")
        precondition(groups > 0 && geometry.channels % groups == 0 && filters % groups == 0
                     && weight.shape == [filters, geometry.channels / groups, geometry.kernelHeight, geometry.kernelWidth],
                     "convolution \(weight.name): weight \(weight.shape) does not suit \(groups) groups of \(geometry)")
        let batch = input.shape[0]
        let store = parameters
        let shape = ConvolutionShape(geometry: geometry, filters: filters, groups: groups)
        if let kernels = store.convolutions, kernels.kernel(for: shape, inputGradient: x.requiresGradient) == .onednn,
           let primitives = kernels.convolution(for: shape, batch: batch) {
            return oneDNNConvolution(x, weight: weight, bias: bias, relu: relu,
                                     run: OneDNNConvolutionRun(kernels: kernels, primitives: primitives, filters: filters))
        }
        let work = ConvolutionWork(geometry: geometry, batch: batch, filters: filters, groups: groups)
        let columns = input.scalars.withUnsafeBufferPointer { px in
            Tensor(shape: [work.patchRows, work.patchColumns]) { out in
                Im2Col.unfold(px.baseAddress!, batch: batch, geometry: geometry, into: out.baseAddress!)
            }
        }
        let y = work.forward(columns: columns, weight: weight, bias: bias, relu: relu, store: store)

        let inputNeedsGradient = x.requiresGradient
        let transposed = TransposedGradient(work: work, relu: relu, output: y)
        let node = recordWithWeights(y, inputBackward: { tape, g in
            guard inputNeedsGradient else { return }
            let dColumns = work.columnGradient(transposed.gradient(from: g, tape: tape), weight: weight, store: store)
            var dx = Tensor(zeros: input.shape)
            dx.scalars.withUnsafeMutableBufferPointer { out in
                dColumns.scalars.withUnsafeBufferPointer { pc in
                    Im2Col.fold(pc.baseAddress!, batch: batch, geometry: geometry, into: out.baseAddress!)
                }
            }
            tape.accumulate(dx, into: x)
        }, weightBackward: { tape, g in
            work.accumulateWeightGradients(transposed.gradient(from: g, tape: tape), columns: columns, weight: weight, bias: bias, tape: tape)
        })
        noteUse(of: weight, atNode: node.id)
        if let bias { noteUse(of: bias, atNode: node.id) }
        return node
    }
}

/// The matrix shapes of one im2col convolution call and its three matrix products.
struct ConvolutionWork {
    let geometry: WindowGeometry
    let batch: Int
    let filters: Int
    let groups: Int

    /// Rows of the patch matrix: C·kh·kw.
    var patchRows: Int { geometry.channels * geometry.taps }
    /// Columns of the patch matrix and of the transposed output: B·OH·OW.
    var patchColumns: Int { batch * geometry.outputPlane }
    var filtersPerGroup: Int { filters / groups }
    /// Patch rows (and weight columns) per group: (C / groups)·kh·kw.
    var rowsPerGroup: Int { patchRows / groups }

    /// y (B, F, OH, OW) from columns: Y'(F, B·P) = W · columns per group, then laid out
    /// NCHW with the bias added and the ReLU applied.
    func forward(columns: Tensor, weight: ParameterSlot, bias: ParameterSlot?, relu: Bool, store: ParameterStore) -> Tensor {
        let plane = geometry.outputPlane
        let product = Tensor(shape: [filters, patchColumns]) { out in
            columns.scalars.withUnsafeBufferPointer { pc in
                store.withParameter(weight) { w in
                    for group in 0..<groups {
                        store.matrixProducts.gemm(transposeA: false, transposeB: false, m: filtersPerGroup, n: patchColumns, k: rowsPerGroup,
                                  a: w.baseAddress! + group * filtersPerGroup * rowsPerGroup, lda: rowsPerGroup,
                                  b: pc.baseAddress! + group * rowsPerGroup * patchColumns, ldb: patchColumns,
                                  beta: 0, c: out.baseAddress! + group * filtersPerGroup * patchColumns, ldc: patchColumns)
                    }
                }
            }
        }
        let biasValues = bias.map { store.value(of: $0).scalars } ?? [Float](repeating: 0, count: filters)
        return Tensor(shape: [batch, filters, geometry.outputHeight, geometry.outputWidth]) { out in
            product.scalars.withUnsafeBufferPointer { pp in
                for b in 0..<batch {
                    for f in 0..<filters {
                        let target = out.baseAddress! + (b * filters + f) * plane
                        let source = pp.baseAddress! + f * patchColumns + b * plane
                        let shift = biasValues[f]
                        for p in 0..<plane { target[p] = source[p] + shift }
                    }
                }
            }
            if relu { VectorKernels.relu(out) }
        }
    }

    /// d(columns) (C·kh·kw, B·P) = Wᵀ · g' per group, g' the transposed output gradient.
    func columnGradient(_ transposedGradient: Tensor, weight: ParameterSlot, store: ParameterStore) -> Tensor {
        Tensor(shape: [patchRows, patchColumns]) { out in
            transposedGradient.scalars.withUnsafeBufferPointer { pg in
                store.withParameter(weight) { w in
                    for group in 0..<groups {
                        store.matrixProducts.gemm(transposeA: true, transposeB: false, m: rowsPerGroup, n: patchColumns, k: filtersPerGroup,
                                  a: w.baseAddress! + group * filtersPerGroup * rowsPerGroup, lda: rowsPerGroup,
                                  b: pg.baseAddress! + group * filtersPerGroup * patchColumns, ldb: patchColumns,
                                  beta: 0, c: out.baseAddress! + group * rowsPerGroup * patchColumns, ldc: patchColumns)
                    }
                }
            }
        }
    }

    /// dW (F, C/groups·kh·kw) += g' · columnsᵀ per group; db (F) += row sums of g'.
    func accumulateWeightGradients(_ transposedGradient: Tensor, columns: Tensor, weight: ParameterSlot,
                                   bias: ParameterSlot?, tape: Tape) {
        transposedGradient.scalars.withUnsafeBufferPointer { pg in
            columns.scalars.withUnsafeBufferPointer { pc in
                tape.accumulateParameterGradient(weight) { dw in
                    for group in 0..<groups {
                        tape.parameters.matrixProducts.gemm(transposeA: false, transposeB: true, m: filtersPerGroup, n: rowsPerGroup, k: patchColumns,
                                  a: pg.baseAddress! + group * filtersPerGroup * patchColumns, lda: patchColumns,
                                  b: pc.baseAddress! + group * rowsPerGroup * patchColumns, ldb: patchColumns,
                                  beta: 1, c: dw.baseAddress! + group * filtersPerGroup * rowsPerGroup, ldc: rowsPerGroup)
                    }
                }
            }
            if let bias {
                tape.accumulateParameterGradient(bias) { db in
                    for f in 0..<filters {
                        let row = UnsafeBufferPointer(start: pg.baseAddress! + f * patchColumns, count: patchColumns)
                        var total: Float = 0
                        for value in row { total += value }
                        db[f] += total
                    }
                }
            }
        }
    }
}

/// A convolution's output gradient (B, F, P) after its ReLU mask, transposed to
/// (F, B·P); computed on first use and shared by the input and weight parts of backward.
private final class TransposedGradient {
    let work: ConvolutionWork
    let masked: MaskedGradient
    private var cached: Tensor?

    init(work: ConvolutionWork, relu: Bool, output: Tensor) {
        self.work = work
        masked = MaskedGradient(relu: relu, output: output)
    }

    func gradient(from g: Tensor, tape: Tape) -> Tensor {
        if let cached { return cached }
        let plane = work.geometry.outputPlane, filters = work.filters, columns = work.patchColumns
        let result = Tensor(shape: [filters, columns]) { out in
            masked.gradient(from: g, tape: tape).scalars.withUnsafeBufferPointer { pg in
                for b in 0..<work.batch {
                    for f in 0..<filters {
                        (out.baseAddress! + f * columns + b * plane)
                            .update(from: pg.baseAddress! + (b * filters + f) * plane, count: plane)
                    }
                }
            }
        }
        cached = result
        // The transposed copy is what the products read from now on.
        masked.forget()
        return result
    }
}
