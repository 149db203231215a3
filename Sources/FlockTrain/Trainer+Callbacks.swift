import Foundation

/// Epoch-end callbacks, best weights, and TerminateOnNaN.
extension Trainer {
    /// Runs the callbacks on rank 0 and broadcasts their decision, so every rank stops at
    /// the same step with the same learning rate. Returns whether to stop.
    func epochEndCallbacks(epoch: Int, metrics: [String: Double]) throws -> Bool {
        // [stop, capture best weights, new learning-rate scale]
        var decision: [Double] = [0, 0, progress.learningRateScale]
        if rank == 0 {
            var control = TrainingControl(learningRate: Double(currentLearningRate()),
                                          learningRateScale: progress.learningRateScale)
            for index in callbacks.indices {
                callbacks[index].epochEnded(epoch, metrics: metrics, control: &control)
            }
            decision = [control.stopTraining ? 1 : 0, control.captureBestWeights ? 1 : 0, control.learningRateScale]
        }
        if let world = parts.world, world.size > 1 { decision = try world.broadcast(decision, root: 0) }
        if decision[1] == 1 { captureBestWeights() }
        progress.learningRateScale = decision[2]
        return decision[0] == 1
    }

    /// Restoring the best weights at the end of training (Keras 3's EarlyStopping): the
    /// first replica of each shard holds them and broadcasts them to the other replicas
    /// (under ZeRO stage 3 each rank restores its own rows).
    func restoreBestWeightsAtEnd() throws {
        guard callbacks.contains(where: \.restoresBestWeights) else { return }
        var restore: [Double] = [progress.bestWeights == nil ? 0 : 1]
        if let world = parts.world, world.size > 1 { restore = try world.broadcast(restore, root: 0) }
        guard restore[0] == 1 else { return }
        if let bestWeights = progress.bestWeights { try restoreBestWeights(bestWeights) }
        try parts.synchronizeModelState()
    }

    static let nonFiniteStateDetail = "non-finite weights or optimizer state (not checkpointed)"

    /// Under TerminateOnNaN, whether the weights and optimizer buffers a checkpoint would
    /// save are all finite on every rank (true when TerminateOnNaN is off). Collective.
    func savedStateIsFinite() throws -> Bool {
        guard options.nonFinite != nil else { return true }
        let local = parameters.withParameters { $0.allSatisfy(\.isFinite) }
            && optimizerState.values.allSatisfy { $0.allSatisfy(\.isFinite) }
        return try parts.sharding.allShardsAgree(local)
    }

    /// TerminateOnNaN: stop naming the step, or roll back to the last checkpoint with a
    /// lower learning rate.
    func handleNonFinite(epoch: Int, batch: Int, detail: String = "non-finite loss or gradients") throws {
        let error = NonFiniteLossError(step: optimizer.stepCount, epoch: epoch + 1, batch: batch + 1, detail: detail)
        // Rank 0 decides whether a checkpoint to roll back to exists and tells every rank,
        // so no rank rolls back while another stops.
        let folder = checkpointFolder ?? sharedCheckpointFolder
        var canRollBack: [Int32] = [folder.map { FileManager.default.fileExists(atPath: $0.appendingPathComponent("last").path) } == true ? 1 : 0]
        if let world = parts.world, world.size > 1 { canRollBack = try world.broadcast(canRollBack, root: 0) }
        guard var policy = options.nonFinite, policy.action == .rollback, policy.state.rollbacks < policy.maxRollbacks,
              canRollBack[0] == 1, let folder else { throw error }
        policy.state.rollbacks += 1
        let scale = progress.learningRateScale * policy.lrFactor
        try resume(from: Checkpoint.load(folder.appendingPathComponent("last"), expectingConfig: options.identity))
        options.nonFinite = policy
        progress.learningRateScale = scale
        let event = RollbackEvent(error: error, learningRateFactor: policy.lrFactor, learningRateScale: scale,
                                  rollbacks: policy.state.rollbacks, maxRollbacks: policy.maxRollbacks)
        for observer in observers { observer.rolledBack(event) }
    }
}
