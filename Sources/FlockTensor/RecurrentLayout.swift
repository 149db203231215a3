/// Where a fused recurrent sequence keeps its values: one forward workspace of Floats,
/// time-major (row t·B + b), so that step t's rows are contiguous and the weight
/// gradients are single products over all T·B rows.
///
/// Forward workspace, in order:
/// - hiddens ((T+1)·B, H): block 0 is h_{−1} = 0, block t + 1 is h_t;
/// - saved (T·B, S): what the kernel keeps for backward;
/// - projected (T·B, G·H): x_t·W_ihᵀ + b_ih;
/// - inputs (T·B, C): x, time-major;
/// - fromHidden (B, G·H): the current step's h_{t−1}·W_hhᵀ + b_hh (GRU: also kept in saved).
///
/// Backward workspace: dProjected (T·B, G·H), then, for kernels whose hidden projection
/// gets its own gradient, dFromHidden (T·B, G·H).
struct RecurrentLayout {
    let batch: Int, steps: Int, features: Int, units: Int
    let gates: Int, savedWidth: Int

    init<K: RecurrentKernel>(_ kernel: K.Type, batch: Int, steps: Int, features: Int, units: Int) {
        (self.batch, self.steps, self.features, self.units) = (batch, steps, features, units)
        gates = K.gates * units
        savedWidth = K.savedBlocks * units
    }

    var rows: Int { steps * batch }
    var hiddens: Int { 0 }
    var saved: Int { (steps + 1) * batch * units }
    var projected: Int { saved + rows * savedWidth }
    var inputs: Int { projected + rows * gates }
    var fromHidden: Int { inputs + rows * features }
    var forwardCount: Int { fromHidden + batch * gates }

    func backwardCount(separateHiddenGradient: Bool) -> Int { rows * gates * (separateHiddenGradient ? 2 : 1) }
}
