/// Backpropagation through time for `Tape.recurrent`: the gates' gradients of every step,
/// computed once by whichever part of the node's backward runs first (the input part,
/// now, or the weight part) and kept until the weight part is done, as `MaskedGradient`.
final class RecurrentBackward<K: RecurrentKernel> {
    let workspace: Tensor
    let layout: RecurrentLayout
    let weights: RecurrentWeights
    let returnSequences: Bool
    private var cached: Tensor?

    init(workspace: Tensor, layout: RecurrentLayout, weights: RecurrentWeights, returnSequences: Bool) {
        (self.workspace, self.layout, self.weights, self.returnSequences) = (workspace, layout, weights, returnSequences)
    }

    /// The backward workspace (`RecurrentLayout`): dProjected (T·B, G·H), then dFromHidden
    /// where the kernel has its own.
    func gateGradients(from g: Tensor, tape: Tape) -> Tensor {
        if let cached { return cached }
        let l = layout, store = tape.parameters, weights = weights, returnSequences = returnSequences
        let gradients = tape.makeTensor(shape: [l.backwardCount(separateHiddenGradient: K.separateHiddenGradient)],
                                        uninitializedFill: { d in
            workspace.scalars.withUnsafeBufferPointer { pw in
                g.scalars.withUnsafeBufferPointer { pg in
                    Self.throughTime(workspace: pw.baseAddress!, outputGradient: pg.baseAddress!, gradients: d.baseAddress!,
                                     layout: l, weights: weights, returnSequences: returnSequences, store: store)
                }
            }
        })
        cached = gradients
        return gradients
    }

    func forget(tape: Tape) {
        if let cached { tape.recycle(cached) }
        cached = nil
    }

    /// Runs the steps newest first. dh holds everything that reaches h_t: the output's
    /// gradient at t and, from step t + 1, dgates_{t+1}·W_hh plus the kernel's direct part.
    private static func throughTime(workspace w: UnsafePointer<Float>, outputGradient g: UnsafePointer<Float>,
                                    gradients d: UnsafeMutablePointer<Float>, layout l: RecurrentLayout,
                                    weights: RecurrentWeights, returnSequences: Bool, store: ParameterStore) {
        let (b, t, h, gh) = (l.batch, l.steps, l.units, l.gates)
        let hiddenGradients = K.separateHiddenGradient ? d + l.rows * gh : d
        var state = [Float](repeating: 0, count: 3 * b * h)
        state.withUnsafeMutableBufferPointer { buffer in
            // (B, H) each: dh_t, the next step's dh_{t−1}, the carried dc.
            var dh = buffer.baseAddress!, next = dh + b * h
            let carry = next + b * h
            store.withParameter(weights.hidden) { whh in
                let recurrent = store.matrixProducts.repeatedProduct(m: b, n: h, k: gh, transposeB: false, weights: whh.baseAddress!)
                for step in stride(from: t - 1, through: 0, by: -1) {
                    addOutputGradient(g, step: step, into: dh, layout: l, returnSequences: returnSequences)
                    let stepGradients = hiddenGradients + step * b * gh
                    K.backward(RecurrentBackwardStep(
                        batch: b, units: h, saved: w + l.saved + step * b * l.savedWidth,
                        previousSaved: step > 0 ? w + l.saved + (step - 1) * b * l.savedWidth : nil,
                        previousHidden: w + l.hiddens + step * b * h, hidden: w + l.hiddens + (step + 1) * b * h,
                        hiddenGradient: dh, carry: carry, inputGradient: d + step * b * gh,
                        hiddenProjectionGradient: stepGradients, previousHiddenGradient: next))
                    // dh_{t−1} (B, H) += dgates_t (B, G·H) · W_hh (G·H, H); h_{−1} is a constant.
                    if step > 0 { recurrent.multiply(stepGradients, into: next) }
                    swap(&dh, &next)
                }
            }
        }
    }

    /// dh_t += the layer output's gradient at step t: g (B, T, H), or g (B, H) at the last step.
    private static func addOutputGradient(_ g: UnsafePointer<Float>, step: Int, into dh: UnsafeMutablePointer<Float>,
                                          layout l: RecurrentLayout, returnSequences: Bool) {
        let (b, t, h) = (l.batch, l.steps, l.units)
        if returnSequences {
            for sample in 0..<b {
                let source = g + (sample * t + step) * h, target = dh + sample * h
                for u in 0..<h { target[u] += source[u] }
            }
        } else if step == t - 1 {
            for k in 0..<(b * h) { dh[k] += g[k] }
        }
    }

    /// dx (B, T, C) = dProjected (T·B, G·H) · W_ih (G·H, C), back to batch-major.
    func inputGradient(_ gateGradients: Tensor, tape: Tape) -> Tensor {
        let l = layout, store = tape.parameters
        var timeMajor = [Float](repeating: 0, count: l.rows * l.features)
        gateGradients.scalars.withUnsafeBufferPointer { pd in
            store.withParameter(weights.input) { wih in
                timeMajor.withUnsafeMutableBufferPointer { out in
                    guard l.features > 0 else { return }
                    store.matrixProducts.gemm(transposeA: false, transposeB: false, m: l.rows, n: l.features, k: l.gates,
                                              a: pd.baseAddress!, lda: l.gates, b: wih.baseAddress!, ldb: l.features,
                                              beta: 0, c: out.baseAddress!, ldc: l.features)
                }
            }
        }
        return tape.makeTensor(shape: [l.batch, l.steps, l.features], uninitializedFill: { out in
            timeMajor.withUnsafeBufferPointer { source in
                for step in 0..<l.steps {
                    for sample in 0..<l.batch {
                        (out.baseAddress! + (sample * l.steps + step) * l.features)
                            .update(from: source.baseAddress! + (step * l.batch + sample) * l.features, count: l.features)
                    }
                }
            }
        })
    }

    /// dW_ih += dProjectedᵀ·X, dW_hh += dFromHiddenᵀ·H_prev (rows of steps 1…T−1: h_{−1} = 0),
    /// db_ih and db_hh += their columns' sums; each one product over all rows.
    func accumulateWeightGradients(_ gateGradients: Tensor, tape: Tape) {
        let l = layout, products = tape.parameters.matrixProducts
        let (b, h, c, gh) = (l.batch, l.units, l.features, l.gates)
        workspace.scalars.withUnsafeBufferPointer { pw in
            gateGradients.scalars.withUnsafeBufferPointer { pd in
                let w = pw.baseAddress!, dProjected = pd.baseAddress!
                let dFromHidden = K.separateHiddenGradient ? dProjected + l.rows * gh : dProjected
                tape.accumulateParameterGradient(weights.input) { dw in
                    guard c > 0 else { return }
                    if products.precision == .float32, c <= NarrowInputProjection.maximumFeatures {
                        NarrowInputProjection.accumulateWeightGradient(dProjected, inputs: w + l.inputs, into: dw.baseAddress!,
                                                                       rows: l.rows, features: c, width: gh)
                    } else {
                        products.gemm(transposeA: true, transposeB: false, m: gh, n: c, k: l.rows, a: dProjected, lda: gh,
                                      b: w + l.inputs, ldb: c, beta: 1, c: dw.baseAddress!, ldc: c)
                    }
                }
                tape.accumulateParameterGradient(weights.hidden) { dw in
                    guard l.steps > 1 else { return }
                    // One product, so its H_prev is packed for it alone.
                    products.repeatedProduct(m: gh, n: h, k: (l.steps - 1) * b, transposeA: true, transposeB: false,
                                             weights: w + l.hiddens + b * h)
                        .multiply(dFromHidden + b * gh, into: dw.baseAddress!)
                }
                Self.addColumnSums(dProjected, rows: l.rows, into: weights.inputBias, tape: tape)
                Self.addColumnSums(dFromHidden, rows: l.rows, into: weights.hiddenBias, tape: tape)
            }
        }
    }

    private static func addColumnSums(_ rows: UnsafePointer<Float>, rows count: Int, into slot: ParameterSlot, tape: Tape) {
        tape.accumulateParameterGradient(slot) { db in
            for row in 0..<count {
                let base = rows + row * db.count
                for j in 0..<db.count { db[j] += base[j] }
            }
        }
    }
}
