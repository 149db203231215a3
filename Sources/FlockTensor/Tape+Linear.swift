/// The fused dense op: one matrix product (sgemm, or bf16 inputs under mixed precision)
/// plus a bias (and optionally ReLU) in one pass over the output, reading and writing the
/// parameter store in place (no copy of the weight into the graph).
extension Tape {
    /// `y = x · Wᵀ + b`, or `relu(x · Wᵀ + b)` with `relu: true`.
    ///
    /// Shapes: x (N, in) — any leading dimensions are flattened into N; weight (out, in),
    /// PyTorch's layout, so checkpoints load into `torch.nn.Linear`; bias (out); y (N, out).
    ///
    /// Backward: with ReLU the output gradient is masked once (g ⊙ [y > 0]) and the bias
    /// gradient summed in the same pass; then dW += gᵀ·x (weight part) and dx = g·W (input part).
    public func linear(_ x: Variable, weight: ParameterSlot, bias: ParameterSlot?, relu: Bool = false) -> Variable {
        let outFeatures = weight.shape[0], inFeatures = weight.shape[1]
        let input = x.value
        precondition(input.shape.last == inFeatures,
                     "linear \(weight.name) expects \(inFeatures) input features, got shape \(input.shape)")
        let rows = input.count / Swift.max(inFeatures, 1)
        var outputShape = input.shape
        outputShape[outputShape.count - 1] = outFeatures
        let store = parameters
        let products = store.matrixProducts
        // Under bf16, x and W rounded once here and kept for backward (nil otherwise).
        let rounded = RoundedLinearOperands(products: products, recordsBackward: recordsBackward,
                                            rows: rows, inputs: inFeatures, outputs: outFeatures)

        let y = makeTensor(shape: outputShape, uninitializedFill: { out in
            // On oneDNN, one call with the bias and ReLU in the product's output pass.
            let fused = inFeatures > 0 && input.scalars.withUnsafeBufferPointer { px in
                store.withParameter(weight) { w in
                    store.withOptionalParameter(bias) { b in
                        let bias = b.map { UnsafePointer($0.baseAddress!) }
                        if rounded?.forward(x: px.baseAddress!, weight: w.baseAddress!, bias: bias, relu: relu, into: out.baseAddress!) == true {
                            return true
                        }
                        return products.fusedLinear(rows: rows, outputs: outFeatures, inputs: inFeatures, x: px.baseAddress!, weight: w.baseAddress!,
                                                    bias: bias, relu: relu, into: out.baseAddress!)
                    }
                }
            }
            if fused { return }
            var beta: Float = 0
            if let bias {
                store.withParameter(bias) { b in
                    for row in 0..<rows {
                        (out.baseAddress! + row * outFeatures).update(from: b.baseAddress!, count: outFeatures)
                    }
                }
                beta = 1
            } else if inFeatures == 0 {
                out.update(repeating: 0)
            }
            if inFeatures > 0 {
                input.scalars.withUnsafeBufferPointer { px in
                    store.withParameter(weight) { w in
                        products.gemm(transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures,
                                      a: px.baseAddress!, lda: inFeatures, b: w.baseAddress!, ldb: inFeatures,
                                      beta: beta, c: out.baseAddress!, ldc: outFeatures)
                    }
                }
            }
            if relu { VectorKernels.relu(out) }
        })

        let inputNeedsGradient = x.requiresGradient
        // The output gradient after the ReLU mask, computed once for both backward parts.
        let masked = MaskedGradient(relu: relu, output: y)
        let node = recordWithWeights(y, inputBackward: { tape, g in
            // dx(N, in) = g(N, out) · W(out, in)
            guard inputNeedsGradient else { return }
            let gz = masked.gradient(from: g, tape: tape)
            let dx = tape.makeTensor(shape: input.shape, uninitializedFill: { out in
                gz.scalars.withUnsafeBufferPointer { pg in
                    if rounded?.inputGradient(pg.baseAddress!, into: out.baseAddress!) == true { return }
                    store.withParameter(weight) { w in
                        products.gemm(transposeA: false, transposeB: false, m: rows, n: inFeatures, k: outFeatures,
                                      a: pg.baseAddress!, lda: outFeatures, b: w.baseAddress!, ldb: inFeatures,
                                      beta: 0, c: out.baseAddress!, ldc: inFeatures)
                    }
                }
            })
            tape.accumulate(dx, into: x)
        }, weightBackward: { tape, g in
            let gz = masked.gradient(from: g, tape: tape)
            // The weight part runs last (backward runs the input part first): a later
            // backward through this node masks its own gradient.
            defer { masked.forget(); rounded?.forget() }
            gz.scalars.withUnsafeBufferPointer { pg in
                // dW(out, in) += gᵀ(out, N) · x(N, in)
                input.scalars.withUnsafeBufferPointer { px in
                    tape.accumulateParameterGradient(weight) { dw in
                        if rounded?.weightGradient(pg.baseAddress!, into: dw.baseAddress!) == true { return }
                        products.gemm(transposeA: true, transposeB: false, m: outFeatures, n: inFeatures, k: rows,
                                      a: pg.baseAddress!, lda: outFeatures, b: px.baseAddress!, ldb: inFeatures,
                                      beta: 1, c: dw.baseAddress!, ldc: inFeatures)
                    }
                }
                // db(out) += Σ_rows g
                if let bias {
                    tape.accumulateParameterGradient(bias) { db in
                        for row in 0..<rows {
                            let base = pg.baseAddress! + row * outFeatures
                            for j in 0..<outFeatures { db[j] += base[j] }
                        }
                    }
                }
            }
        })
        noteUse(of: weight, atNode: node.id)
        if let bias { noteUse(of: bias, atNode: node.id) }
        return node
    }
}
