/// The elementwise part of one step of a fused recurrent sequence (`Tape.recurrent`): the
/// gates from the step's two projections, and their gradients. The matrix products and
/// the loop over time belong to `Tape.recurrent`; a kernel sees one step's rows.
///
/// Shapes per step: B samples, H units, G gate blocks, S = `savedBlocks`·H floats a sample
/// keeps for backward.
protocol RecurrentKernel {
    /// G: how many blocks of H columns the projections stack.
    static var gates: Int { get }
    /// S / H: what a step keeps per sample for backward, in blocks of H floats.
    static var savedBlocks: Int { get }
    /// Whether the hidden projection's gradient differs from the input projection's (the
    /// GRU's reset gate scales h_n); when not, backward writes only `inputGradient`, and
    /// since the gates then depend on the two projections only through their sum, the
    /// forward adds h_{t−1}·W_hhᵀ and b_hh straight into the input projection's rows and
    /// passes no `fromHidden`.
    static var separateHiddenGradient: Bool { get }

    static func forward(_ step: RecurrentForwardStep)
    static func backward(_ step: RecurrentBackwardStep)
}

/// One forward step's rows.
struct RecurrentForwardStep {
    let batch: Int, units: Int
    /// (B, G·H): x_t·W_ihᵀ + b_ih, plus h_{t−1}·W_hhᵀ + b_hh when `fromHidden` is nil.
    let fromInput: UnsafePointer<Float>
    /// (B, G·H): h_{t−1}·W_hhᵀ + b_hh, for kernels with `separateHiddenGradient`; else nil.
    let fromHidden: UnsafePointer<Float>?
    /// (B, H): h_{t−1}.
    let previousHidden: UnsafePointer<Float>
    /// (B, S): step t−1's saved values; nil at t = 0 (the state starts at zero).
    let previousSaved: UnsafePointer<Float>?
    /// (B, S), written.
    let saved: UnsafeMutablePointer<Float>
    /// (B, H): h_t, written.
    let hidden: UnsafeMutablePointer<Float>
}

/// One backward step's rows.
struct RecurrentBackwardStep {
    let batch: Int, units: Int
    let saved: UnsafePointer<Float>
    let previousSaved: UnsafePointer<Float>?
    let previousHidden: UnsafePointer<Float>
    let hidden: UnsafePointer<Float>
    /// (B, H): dL/dh_t, everything that reaches h_t.
    let hiddenGradient: UnsafePointer<Float>
    /// (B, H): dL/dc_t in, dL/dc_{t−1} out (the LSTM's cell state; zeros for the others).
    let carry: UnsafeMutablePointer<Float>
    /// (B, G·H), written: dL/d(fromInput).
    let inputGradient: UnsafeMutablePointer<Float>
    /// (B, G·H), written when `separateHiddenGradient`: dL/d(fromHidden).
    let hiddenProjectionGradient: UnsafeMutablePointer<Float>
    /// (B, H), written: the part of dL/dh_{t−1} that does not go through W_hh (zero but
    /// for the GRU's z ⊙ h_{t−1}).
    let previousHiddenGradient: UnsafeMutablePointer<Float>
}

extension RecurrentKernel {
    static var separateHiddenGradient: Bool { false }
}
