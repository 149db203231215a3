/// Which cell a fused recurrent sequence runs (`Tape.recurrent`).
public enum RecurrentCellKind: Sendable {
    /// Elman RNN, one gate block.
    case simple
    /// LSTM, gates i, f, g, o.
    case lstm
    /// GRU, gates r, z, n.
    case gru
}

/// A recurrent layer's parameters, PyTorch's layout (gate blocks stacked on the first axis):
/// `input` W_ih (G·H, C), `hidden` W_hh (G·H, H), `inputBias` b_ih (G·H), `hiddenBias` b_hh (G·H).
public struct RecurrentWeights: Sendable {
    public let input: ParameterSlot, hidden: ParameterSlot
    public let inputBias: ParameterSlot, hiddenBias: ParameterSlot

    public init(input: ParameterSlot, hidden: ParameterSlot, inputBias: ParameterSlot, hiddenBias: ParameterSlot) {
        (self.input, self.hidden, self.inputBias, self.hiddenBias) = (input, hidden, inputBias, hiddenBias)
    }

    var all: [ParameterSlot] { [input, hidden, inputBias, hiddenBias] }
}

/// A whole recurrent sequence as one tape node: the forward loop runs in place and
/// backward is backpropagation through time in one closure.
///
/// Forward: the input projection of every step is one product over all T·B rows; each
/// step adds h_{t−1}·W_hhᵀ + b_hh (one product of B rows) and runs the cell's gates in one
/// elementwise pass. Backward: per step the gates' gradients in one pass and
/// dh_{t−1} = dgates·W_hh (one product); then the weight gradients are single products
/// over all T·B rows (dW_hh = dgatesᵀ·H_prev, dW_ih = dgatesᵀ·X) and the biases' sums.
/// Every product goes through `parameters.matrixProducts` (bf16 under mixed precision).
extension Tape {
    /// x (B, T, C) → the last hidden state (B, H), or every step's (B, T, H) with
    /// `returnSequences`; the state starts at zero.
    public func recurrent(_ x: Variable, cell: RecurrentCellKind, weights: RecurrentWeights,
                          returnSequences: Bool) -> Variable {
        switch cell {
        case .simple: return recurrent(x, SimpleRNNKernel.self, weights: weights, returnSequences: returnSequences)
        case .lstm: return recurrent(x, LSTMKernel.self, weights: weights, returnSequences: returnSequences)
        case .gru: return recurrent(x, GRUKernel.self, weights: weights, returnSequences: returnSequences)
        }
    }

    private func recurrent<K: RecurrentKernel>(_ x: Variable, _ kernel: K.Type, weights: RecurrentWeights,
                                               returnSequences: Bool) -> Variable {
        let input = x.value
        precondition(input.shape.count == 3 && input.shape[2] == weights.input.shape[1],
                     "recurrent \(weights.input.name) expects (B, T, \(weights.input.shape[1])), got shape \(input.shape)")
        let layout = RecurrentLayout(K.self, batch: input.shape[0], steps: input.shape[1], features: input.shape[2],
                                     units: weights.hidden.shape[1])
        let store = parameters
        let workspace = makeTensor(shape: [layout.forwardCount], uninitializedFill: { w in
            input.scalars.withUnsafeBufferPointer { px in
                Self.recurrentForward(K.self, input: px.baseAddress!, workspace: w.baseAddress!, layout: layout,
                                      weights: weights, store: store)
            }
        })
        let output = Self.recurrentOutput(workspace, layout: layout, returnSequences: returnSequences, tape: self)
        // On the tape so that reset hands its storage back to the pool.
        _ = constant(workspace)
        let gradients = RecurrentBackward<K>(workspace: workspace, layout: layout, weights: weights,
                                             returnSequences: returnSequences)
        let inputNeedsGradient = x.requiresGradient
        let node = recordWithWeights(output, inputBackward: { tape, g in
            let gateGradients = gradients.gateGradients(from: g, tape: tape)
            guard inputNeedsGradient else { return }
            tape.accumulate(gradients.inputGradient(gateGradients, tape: tape), into: x)
        }, weightBackward: { tape, g in
            let gateGradients = gradients.gateGradients(from: g, tape: tape)
            // The weight part runs last: a later backward through this node starts afresh.
            defer { gradients.forget(tape: tape) }
            gradients.accumulateWeightGradients(gateGradients, tape: tape)
        })
        for slot in weights.all { noteUse(of: slot, atNode: node.id) }
        return node
    }

    /// Fills the forward workspace (`RecurrentLayout`) from x (B, T, C).
    private static func recurrentForward<K: RecurrentKernel>(
        _ kernel: K.Type, input x: UnsafePointer<Float>, workspace w: UnsafeMutablePointer<Float>,
        layout l: RecurrentLayout, weights: RecurrentWeights, store: ParameterStore
    ) {
        let products = store.matrixProducts
        let (b, t, c, h, gh) = (l.batch, l.steps, l.features, l.units, l.gates)
        for step in 0..<t {
            for sample in 0..<b {
                (w + l.inputs + (step * b + sample) * c).update(from: x + (sample * t + step) * c, count: c)
            }
        }
        (w + l.hiddens).update(repeating: 0, count: b * h)
        // Gates that read only the projections' sum get h_{t−1}·W_hhᵀ + b_hh added into
        // the step's rows of projected: no separate rows to fill and add at every step.
        let summed = !K.separateHiddenGradient
        // projected (T·B, G·H) = inputs (T·B, C) · W_ihᵀ + b_ih (+ b_hh when summed)
        var bias = store.withParameter(weights.inputBias) { Array($0) }
        if summed { store.withParameter(weights.hiddenBias) { bhh in for j in bias.indices { bias[j] += bhh[j] } } }
        for row in 0..<l.rows { (w + l.projected + row * gh).update(from: bias, count: gh) }
        if c > 0 {
            store.withParameter(weights.input) { wih in
                if products.precision == .float32, c <= NarrowInputProjection.maximumFeatures {
                    NarrowInputProjection.project(w + l.inputs, weight: wih.baseAddress!, into: w + l.projected,
                                                  rows: l.rows, features: c, width: gh)
                } else {
                    products.gemm(transposeA: false, transposeB: true, m: l.rows, n: gh, k: c, a: w + l.inputs, lda: c,
                                  b: wih.baseAddress!, ldb: c, beta: 1, c: w + l.projected, ldc: gh)
                }
            }
        }
        store.withParameter(weights.hidden) { whh in
            let recurrent = products.repeatedProduct(m: b, n: gh, k: h, transposeB: true, weights: whh.baseAddress!)
            for step in 0..<t {
                let previous = w + l.hiddens + step * b * h, fromInput = w + l.projected + step * b * gh
                // fromHidden (B, G·H) = h_{t−1} (B, H) · W_hhᵀ + b_hh, or added into fromInput
                // when summed; h_{−1} = 0 needs no product.
                if !summed { fillRows(w + l.fromHidden, rows: b, slot: weights.hiddenBias, store: store) }
                if step > 0 { recurrent.multiply(previous, into: summed ? fromInput : w + l.fromHidden) }
                K.forward(RecurrentForwardStep(
                    batch: b, units: h, fromInput: fromInput, fromHidden: summed ? nil : w + l.fromHidden,
                    previousHidden: previous,
                    previousSaved: step > 0 ? UnsafePointer(w + l.saved + (step - 1) * b * l.savedWidth) : nil,
                    saved: w + l.saved + step * b * l.savedWidth, hidden: w + l.hiddens + (step + 1) * b * h))
            }
        }
    }

    /// Each of `rows` rows of `target` set to the vector `slot`.
    private static func fillRows(_ target: UnsafeMutablePointer<Float>, rows: Int, slot: ParameterSlot,
                                 store: ParameterStore) {
        store.withParameter(slot) { v in
            for row in 0..<rows { (target + row * v.count).update(from: v.baseAddress!, count: v.count) }
        }
    }

    /// The layer's output from the workspace's hiddens: h_{T−1} (B, H), or (B, T, H).
    private static func recurrentOutput(_ workspace: Tensor, layout l: RecurrentLayout, returnSequences: Bool,
                                        tape: Tape) -> Tensor {
        let (b, t, h) = (l.batch, l.steps, l.units)
        return tape.makeTensor(shape: returnSequences ? [b, t, h] : [b, h], uninitializedFill: { out in
            workspace.scalars.withUnsafeBufferPointer { pw in
                let hiddens = pw.baseAddress! + l.hiddens
                guard returnSequences else {
                    out.baseAddress!.update(from: hiddens + t * b * h, count: b * h)
                    return
                }
                for step in 0..<t {
                    for sample in 0..<b {
                        (out.baseAddress! + (sample * t + step) * h).update(from: hiddens + ((step + 1) * b + sample) * h,
                                                                            count: h)
                    }
                }
            }
        })
    }
}
