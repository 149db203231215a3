/// Weight-gradient passes (W) a stage may run ahead of their place in its schedule: while
/// a receive the stage has reached has not landed, the next W whose input gradient (B) has
/// run fills the wait instead of leaving the stage idle.
///
/// A schedule is planned at fixed pass costs; measured stages differ (the first skips its
/// first layer's input gradient, the last adds the loss, passes jitter), so a stage can
/// reach a receive early with deferred W passes still queued behind it. Running them
/// there changes nothing but timing: a W needs only its own micro-batch's B, no transfer
/// depends on it, and W passes still run in schedule order, so parameter gradients
/// accumulate in the same order and a step's result is bit for bit the planned one.
struct EarlyWeightPasses {
    private let actions: [PipelineAction]
    /// Indices of the stage's W passes, in schedule order.
    private let weightIndices: [Int]
    /// Index of each micro-batch's B pass.
    private let inputGradientIndex: [Int: Int]
    /// Position in `weightIndices` of the first W not yet run.
    private var nextWeight = 0

    init(actions: [PipelineAction]) {
        self.actions = actions
        weightIndices = actions.indices.filter { if case .backwardWeight = actions[$0] { return true } else { return false } }
        var inputGradientIndex: [Int: Int] = [:]
        for (index, action) in actions.enumerated() {
            if case .backwardInput(let m) = action { inputGradientIndex[m] = index }
        }
        self.inputGradientIndex = inputGradientIndex
    }

    /// The W that may run at action `index` (every action before `index` has run): the next
    /// W in schedule order, if it lies ahead and its B lies behind.
    func next(at index: Int) -> Int? {
        guard nextWeight < weightIndices.count else { return nil }
        let weight = weightIndices[nextWeight]
        guard weight > index, let inputGradient = inputGradientIndex[actions[weight].microBatch],
              inputGradient < index else { return nil }
        return weight
    }

    /// Whether action `index` is a W that has run already (ahead of its place).
    func hasRun(_ index: Int) -> Bool {
        guard case .backwardWeight = actions[index] else { return false }
        return nextWeight == weightIndices.count || weightIndices[nextWeight] > index
    }

    /// Records that W pass `index` ran (in its place or ahead of it); W passes run in order.
    mutating func didRun(_ index: Int) {
        precondition(weightIndices[nextWeight] == index, "weight-gradient pass \(index) run out of order")
        nextWeight += 1
    }
}
