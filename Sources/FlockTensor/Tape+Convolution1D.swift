/// The 1-D (sequence) convolution op, channels last: the (B, T, C) input is unfolded into
/// a (B·T', C·K) patch matrix, then one sgemm with the (F, C·K) weight gives the
/// (B·T', F) output, which is already (B, T', F) — no layout pass, unlike the NCHW
/// `convolution2D`. Dilation, stride and causal padding are only in which steps the unfold
/// reads (`Convolution1DGeometry`). With G groups, group g's channels are a block of
/// consecutive columns of each patch row, so each group is one sgemm on sub-blocks of the
/// same matrices (leading dimensions C·K and F), with no copy.
///
/// Why not `convolution2D` with height 1: that path is NCHW, so a (B, T, C) sequence would
/// be transposed in and out around it, and its im2col and oneDNN kernels know no dilation
/// or one-sided padding; this op shares its matrix products (the store's
/// `matrixProducts`, bf16 included) and its use of the parameter store.
extension Tape {
    /// `y[b, t, f] = bias[f] + Σ_{c,k} weight[f, c, k] · x[b, t·s + k·d − pad, g·C/G + c]`
    /// for f in group g (filters g·F/G ..< (g+1)·F/G read channels g·C/G ..< (g+1)·C/G), zero
    /// outside the sequence (cross-correlation, as PyTorch's `nn.Conv1d` computes it).
    ///
    /// Shapes: x (B, T, C); weight (F, C/G, K), PyTorch's layout; bias (F); y (B, T', F)
    /// with T', the stride s and the padding from `geometry`; G = `groups` divides C and F.
    ///
    /// Backward: dW += gᵀ · columns (F, C·K); db += column sums of g; d(columns) = g · W,
    /// folded back onto the steps each entry came from.
    public func convolution1D(_ x: Variable, weight: ParameterSlot, bias: ParameterSlot?,
                              geometry: Convolution1DGeometry, groups: Int = 1) -> Variable {
        let input = x.value
        precondition(input.rank == 3 && input.shape[1] == geometry.steps && input.shape[2] == geometry.channels,
                     "convolution \(weight.name) expects (B, \(geometry.steps), \(geometry.channels)), got \(input.shape)")
        precondition(groups > 0 && geometry.channels % groups == 0 && weight.shape[0] % groups == 0,
                     "convolution \(weight.name): \(groups) groups do not divide \(geometry.channels) channels and \(weight.shape[0]) filters")
        precondition(weight.shape.count == 3 && weight.shape[1] == geometry.channels / groups && weight.shape[2] == geometry.kernel,
                     "convolution \(weight.name): weight \(weight.shape) does not suit \(geometry) in \(groups) groups")
        let work = Convolution1DWork(geometry: geometry, batch: input.shape[0], filters: weight.shape[0], groups: groups)
        let store = parameters
        let columns = work.unfold(input)
        let y = work.forward(columns: columns, weight: weight, bias: bias, store: store)
        let inputNeedsGradient = x.requiresGradient
        let node = recordWithWeights(y, inputBackward: { tape, g in
            guard inputNeedsGradient else { return }
            tape.accumulate(work.fold(work.columnGradient(g, weight: weight, store: store)), into: x)
        }, weightBackward: { tape, g in
            work.accumulateWeightGradients(g, columns: columns, weight: weight, bias: bias, tape: tape)
        })
        noteUse(of: weight, atNode: node.id)
        if let bias { noteUse(of: bias, atNode: node.id) }
        return node
    }
}

/// The matrix shapes of one 1-D convolution call: rows B·T' (every output step of every
/// sample), patch width C·K (entry c·K + k is channel c at tap k, the weight's layout);
/// group g's patch is entries g·(C/G)·K ..< (g+1)·(C/G)·K, its filters g·F/G ..< (g+1)·F/G.
struct Convolution1DWork {
    let geometry: Convolution1DGeometry
    let batch: Int
    let filters: Int
    let groups: Int

    var rows: Int { batch * geometry.outputSteps }
    var patchWidth: Int { geometry.channels * geometry.kernel }
    /// One group's patch width (C/G)·K, a row of the weight, and its filters F/G.
    var groupPatchWidth: Int { patchWidth / groups }
    var groupFilters: Int { filters / groups }

    /// x (B, T, C) → columns (B·T', C·K), zero where a tap reads padding.
    func unfold(_ x: Tensor) -> Tensor {
        let (channels, kernel) = (geometry.channels, geometry.kernel)
        var columns = Tensor(zeros: [rows, patchWidth])
        columns.scalars.withUnsafeMutableBufferPointer { out in
            x.scalars.withUnsafeBufferPointer { px in
                forEachTap { column, step in
                    for c in 0..<channels { out[column + c * kernel] = px[step + c] }
                }
            }
        }
        return columns
    }

    /// columns (B·T', C·K) → dx (B, T, C), each entry added onto the step it was read
    /// from (padding entries dropped).
    func fold(_ columns: Tensor) -> Tensor {
        let (channels, kernel) = (geometry.channels, geometry.kernel)
        var dx = Tensor(zeros: [batch, geometry.steps, channels])
        dx.scalars.withUnsafeMutableBufferPointer { out in
            columns.scalars.withUnsafeBufferPointer { pc in
                forEachTap { column, step in
                    for c in 0..<channels { out[step + c] += pc[column + c * kernel] }
                }
            }
        }
        return dx
    }

    /// Calls `body` for every (sample, output step, tap) whose input step lies inside the
    /// sequence, with the offset of its channel-0 entry in the columns (channel c at
    /// + c·K) and of its input step in x (channel c at + c).
    @inline(__always)
    private func forEachTap(_ body: (_ column: Int, _ step: Int) -> Void) {
        let g = geometry, width = patchWidth
        for b in 0..<batch {
            for t in 0..<g.outputSteps {
                for k in 0..<g.kernel {
                    let s = g.inputStep(output: t, tap: k)
                    guard s >= 0, s < g.steps else { continue }
                    body((b * g.outputSteps + t) * width + k, (b * g.steps + s) * g.channels)
                }
            }
        }
    }

    /// y (B, T', F) = columns · Wᵀ + b, per group: y[:, group's filters] = columns[:, group's
    /// patch] · W[group's filters]ᵀ.
    func forward(columns: Tensor, weight: ParameterSlot, bias: ParameterSlot?, store: ParameterStore) -> Tensor {
        let biasValues = bias.map { store.value(of: $0).scalars }
        let (width, groupFilters) = (groupPatchWidth, groupFilters)
        return Tensor(shape: [batch, geometry.outputSteps, filters]) { out in
            columns.scalars.withUnsafeBufferPointer { pc in
                store.withParameter(weight) { w in
                    for g in 0..<groups {
                        store.matrixProducts.gemm(transposeA: false, transposeB: true, m: rows, n: groupFilters, k: width,
                                                  a: pc.baseAddress! + g * width, lda: patchWidth,
                                                  b: w.baseAddress! + g * groupFilters * width, ldb: width,
                                                  beta: 0, c: out.baseAddress! + g * groupFilters, ldc: filters)
                    }
                }
            }
            guard let biasValues else { return }
            for r in 0..<rows {
                let line = out.baseAddress! + r * filters
                for f in 0..<filters { line[f] += biasValues[f] }
            }
        }
    }

    /// d(columns) (B·T', C·K) = g (B·T', F) · W (F, C·K), per group: d(columns)[:, group's
    /// patch] = g[:, group's filters] · W[group's filters].
    func columnGradient(_ g: Tensor, weight: ParameterSlot, store: ParameterStore) -> Tensor {
        let (width, groupFilters) = (groupPatchWidth, groupFilters)
        return Tensor(shape: [rows, patchWidth]) { out in
            g.scalars.withUnsafeBufferPointer { pg in
                store.withParameter(weight) { w in
                    for group in 0..<groups {
                        store.matrixProducts.gemm(transposeA: false, transposeB: false, m: rows, n: width, k: groupFilters,
                                                  a: pg.baseAddress! + group * groupFilters, lda: filters,
                                                  b: w.baseAddress! + group * groupFilters * width, ldb: width,
                                                  beta: 0, c: out.baseAddress! + group * width, ldc: patchWidth)
                    }
                }
            }
        }
    }

    /// dW (F, (C/G)·K) += gᵀ · columns per group (the group's filters and patch); db (F) +=
    /// Σ over rows of g.
    func accumulateWeightGradients(_ g: Tensor, columns: Tensor, weight: ParameterSlot, bias: ParameterSlot?, tape: Tape) {
        let (width, groupFilters) = (groupPatchWidth, groupFilters)
        g.scalars.withUnsafeBufferPointer { pg in
            columns.scalars.withUnsafeBufferPointer { pc in
                tape.accumulateParameterGradient(weight) { dw in
                    for group in 0..<groups {
                        tape.parameters.matrixProducts.gemm(transposeA: true, transposeB: false, m: groupFilters, n: width, k: rows,
                                                            a: pg.baseAddress! + group * groupFilters, lda: filters,
                                                            b: pc.baseAddress! + group * width, ldb: patchWidth,
                                                            beta: 1, c: dw.baseAddress! + group * groupFilters * width, ldc: width)
                    }
                }
            }
            guard let bias else { return }
            tape.accumulateParameterGradient(bias) { db in
                for r in 0..<rows {
                    let line = pg.baseAddress! + r * filters
                    for f in 0..<filters { db[f] += line[f] }
                }
            }
        }
    }
}
